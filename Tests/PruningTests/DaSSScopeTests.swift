import Foundation
import Pruning
import Tensor
import Testing

/// Issue 12 item 7: DaSS's scope. guozhiyu/glu_dass `prune_wandinter` prunes only `pres_module`
/// (the three MLP linears); `.all` adds plain Wanda on attention.
@Suite struct DaSSScopeTests {
    static let weight = Matrix([[0.2, -0.5, 0.1, 0.4], [0.3, 0.05, -0.6, 0.2]])

    static func prune(_ kind: LinearKind, scope: DaSSOptions.Scope) throws -> PrunedLinear {
        var stats = LinearStatistics(columns: 4)
        stats.wanda.scalerRow = [1, 4, 1, 0.25]
        return try pruneLinear(weight: weight, id: LinearID(block: 0, kind: kind), statistics: stats, method: .wanda,
                               sparsity: 0.5, pattern: .unstructured, options: PruningOptions(dass: DaSSOptions(scope: scope)))
    }

    @Test func attentionIsDenseByDefaultAndWandaWithScopeAll() throws {
        #expect(DaSSOptions().scope == .mlp)
        for kind in [LinearKind.q, .k, .v, .o] {
            let dense = try Self.prune(kind, scope: .mlp)
            #expect(dense.weight == Self.weight && dense.prunedCount == 0)
            // Wanda per row, S = [1, 4, 1, 0.25]: metrics row 0 [0.2, 1.0, 0.1, 0.2] → columns 2 and 0
            // go (ties by column); row 1 [0.3, 0.1, 0.6, 0.1] → columns 1 and 3.
            let all = try Self.prune(kind, scope: .all)
            #expect(all.mask.pruned == [true, false, true, false, false, true, false, true])
        }
    }

    @Test func planKeepsAttentionAtZeroUnderTheAuthorsScope() throws {
        var plan = try SparsityPlan.make(method: .wanda, pattern: .nOfM(n: 2, m: 4), target: 0, allocation: .uniform, blocks: 2, dass: true)
        var wide = plan
        plan.applyDaSSScope(DaSSOptions())
        wide.applyDaSSScope(DaSSOptions(scope: .all))
        for b in 0..<2 {
            for kind in LinearKind.allCases {
                #expect(plan.sparsity(block: b, kind: kind) == (kind.isMLP ? 0.5 : 0))
                #expect(plan.pattern(block: b, kind: kind) == (kind.isMLP ? .nOfM(n: 2, m: 4) : .unstructured))
                #expect(wide.sparsity(block: b, kind: kind) == 0.5)
            }
        }
    }
}
