import ArgumentParser
import Cluster
import Diagnostics
import Distribution
import Foundation
import Pruning
import Yams

/// How cells are dealt to rank groups: longest expected time first, each to the least-loaded
/// group (ties to the lower index), the same on every rank. The cost is a relative estimate in
/// units of one dense forward over the calibration tokens: propagation costs one pass per cell
/// (none for magnitude), SparseGPT's solver about one and a half more, DSnoT half, evaluation its
/// share of tokens. A cell that removes K blocks adds its removal: ShortGPT one scoring pass;
/// SLEB K greedy rounds, each scoring every remaining block's removal by a forward from that block
/// on (half the model on average); LLM-Streamline its similarity pass and the replacement's fit,
/// plus, with `--replacement layer`, the training's epochs of one block's forward and backward
/// (about three block forwards each). A depth-only cell prunes nothing after its removal.
package enum SweepDealer {
    /// The removal a cell makes, for its cost: method, the training's epochs (`layer` only).
    package struct Removal {
        package var method: BlockRemovalMethod
        package var trainingEpochs: Int?

        package init(method: BlockRemovalMethod, trainingEpochs: Int? = nil) {
            self.method = method
            self.trainingEpochs = trainingEpochs
        }
    }

    package static func cost(of cell: SweepCell, dsnot: Bool, calibrationTokens: Int, evalTokens: Int,
                     removal: Removal? = nil, blocks: Int = 1) -> Double {
        var passes: Double = switch cell.method {
        case .magnitude: 0.1
        case .sparsegpt: 2.5
        default: 1
        }
        if cell.isDepthOnly { passes = 0 }
        if dsnot && !cell.isDepthOnly { passes += 0.5 }
        if let k = cell.removeBlocks, let removal {
            let b = Double(max(1, blocks))
            let removing: Double = switch removal.method {
            case .shortgpt: 1
            case .sleb: Double(k) * b / 2
            case .streamline: 2 + 3 * Double(removal.trainingEpochs ?? 0) / b
            }
            passes += removing
        }
        return passes + Double(evalTokens) / Double(max(1, calibrationTokens))
    }

    /// The cells of every group, in grid order within a group.
    package static func deal(costs: [Double], groups: Int) -> [[Int]] { LongestFirst.bins(costs: costs, bins: groups) }
}
