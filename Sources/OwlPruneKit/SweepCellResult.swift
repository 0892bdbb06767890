import Foundation
import Pruning

/// What one finished cell records; written by its group's first rank as
/// `OUT.partial/cells/<id>.json` the moment it is done (that file is the resume journal of the
/// sweep), and gathered into `sweep.json` at the end.
package struct SweepCellResult: Codable, Sendable {
    package var cell: SweepCell
    /// The settings fingerprint the cell was run under; a resumed sweep keeps the cell only if it matches.
    package var settings: String
    package var pattern: String
    package var achievedSparsity: Double
    package var perplexity: Double
    package var nllSum: Double
    package var tokensScored: Int
    package var evalWindows: Int
    package var pruneSeconds: Double
    package var evalSeconds: Double
    /// Ranks that ran the cell (its group's size) and which group.
    package var ranks: Int
    package var group: Int
    /// The whole plan, as in the cell's `owlprune-plan.json`.
    package var plan: SparsityPlan
    /// The kept checkpoint, relative to the sweep directory (`--keep-models`), else nil.
    package var model: String?
    /// Mean KL(dense ‖ pruned) per scored token and the fraction of tokens whose top choice is
    /// unchanged (docs/quality.md); nil in a cell recorded by an owlprune without them.
    package var meanKLD: Double?
    package var sameTop: Double?

    package init(cell: SweepCell, settings: String, pattern: String, achievedSparsity: Double, perplexity: Double, nllSum: Double, tokensScored: Int, evalWindows: Int, pruneSeconds: Double, evalSeconds: Double, ranks: Int, group: Int, plan: SparsityPlan, model: String? = nil, meanKLD: Double? = nil, sameTop: Double? = nil) {
        self.cell = cell
        self.settings = settings
        self.pattern = pattern
        self.achievedSparsity = achievedSparsity
        self.perplexity = perplexity
        self.nllSum = nllSum
        self.tokensScored = tokensScored
        self.evalWindows = evalWindows
        self.pruneSeconds = pruneSeconds
        self.evalSeconds = evalSeconds
        self.ranks = ranks
        self.group = group
        self.plan = plan
        self.model = model
        self.meanKLD = meanKLD
        self.sameTop = sameTop
    }
}
