import Foundation
import Pruning
import Testing
@testable import OwlPruneKit
@testable import owlprune

/// Issue 23 item 1: a sweep cell is the grid's shared options with three typed values set, not
/// command-line text parsed again; it must be the same run as `prune` given the same flags.
@Suite struct SweepCellTests {
    static let calibration = try! CalibrationOptions.parse(["--calib", "t.txt"])

    static func recipe(_ m: MethodOptions) -> String {
        Recipe.render(model: "m", method: m, calibration: calibration, split: nil, threads: nil, overrides: SparsityOverrides())
    }

    @Test func aCellIsPruneWithTheSameFlags() throws {
        let grid = SweepGrid(methods: [.wanda, .sparsegpt, .magnitude], allocations: [.owl, .dlp, .alpha], sparsities: [0.5, 0.7],
                             options: ["--owl-lambda", "0.1", "--dsnot", "--damp", "0.02", "--dlp-alpha", "0.2", "--pattern", "4:8"])
        for cell in grid.cells {
            let typed = try grid.methodOptions(for: cell)
            let flags = try MethodOptions.parse(["--method", cell.method.rawValue, "--allocation", cell.allocation.rawValue,
                                                 "--sparsity", String(cell.sparsity)] + grid.options)
            #expect(Self.recipe(typed) == Self.recipe(flags), "\(cell.id)")
        }
        // Control: two cells of the grid are different runs.
        #expect(try Self.recipe(grid.methodOptions(for: grid.cells[0])) != Self.recipe(grid.methodOptions(for: grid.cells[1])))
    }

    /// `prune`'s checks run on every cell, and the error names the cell.
    @Test func aCellBreakingARuleOfPruneIsNamed() throws {
        let grid = SweepGrid(methods: [.wanda], allocations: [.atp], sparsities: [0.5], options: [])
        do {
            _ = try grid.methodOptions(for: grid.cells[0])
            Issue.record("atp without --atp-beta was accepted")
        } catch {
            #expect("\(error)" == "sweep cell wanda-atp-0.5: --allocation atp needs --atp-beta")
        }
    }

    /// The dealing prices a cell by what it runs: SLEB's greedy rounds far above ShortGPT's one
    /// scoring pass, a `--remove-by` cell its removal on top of its method, LLM-Streamline's
    /// training by its epochs. Control: a depth-only cell without its removal costs evaluation only.
    @Test func depthCellsArePricedByTheirRemoval() {
        func cost(_ method: MethodName, _ k: Int?, _ removal: SweepDealer.Removal?) -> Double {
            SweepDealer.cost(of: SweepCell(method: method, allocation: .uniform, sparsity: 0.5, removeBlocks: k), dsnot: false,
                             calibrationTokens: 1000, evalTokens: 1000, removal: removal, blocks: 30)
        }
        let wanda = cost(.wanda, nil, nil)
        let shortgpt = cost(.shortgpt, 4, .init(method: .shortgpt))
        let sleb = cost(.sleb, 4, .init(method: .sleb))
        #expect(wanda == 2 && shortgpt == 2 && sleb == 61)
        #expect(cost(.wanda, 4, .init(method: .shortgpt)) == wanda + 1)
        #expect(cost(.streamline, 4, .init(method: .streamline, trainingEpochs: 20)) == 1 + 2 + 2)
        #expect(cost(.streamline, 4, .init(method: .streamline, trainingEpochs: 20))
                > cost(.streamline, 4, .init(method: .streamline, trainingEpochs: nil)))
        #expect(cost(.sleb, 4, nil) == 1)
    }
}
