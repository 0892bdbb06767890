import Foundation
import Pruning
import Testing

/// `--atp-beta auto` (issue 12 item 5): the grid and the choice, by hand.
@Suite struct ATPBetaGridTests {
    @Test func gridSpansTheLegalRange() throws {
        // B = 3, s = 0.3: β_max = min(0.6, 1.4)/2 = 0.3, and β_max itself is legal (last block 0.6).
        #expect(try ATPBetaGrid.betas(blocks: 3, target: 0.3, points: 3) == [1, 2, 3].map { Double($0) * 0.3 / 3 })
        // B = 4, s = 0.7: β_max = 0.6/3 = 0.2 puts the last block at 1, so the 4 points are k·0.2/5.
        let grid = try ATPBetaGrid.betas(blocks: 4, target: 0.7, points: 4)
        let bound = min(2 * 0.7, 2 * (1 - 0.7)) / 3  // 0.2 up to the last bit of 1 − 0.7
        #expect(abs(bound - 0.2) < 1e-16)
        #expect(grid == [1, 2, 3, 4].map { Double($0) * bound / 5 })
        #expect(grid.allSatisfy { (try? atpSparsities(blocks: 4, target: 0.7, beta: $0)) != nil })
        #expect(abs(grid[3] - 0.16) < 1e-15)
        #expect(throws: PruningError.self) { try ATPBetaGrid.betas(blocks: 1, target: 0.5, points: 4) }
        #expect(throws: PruningError.self) { try ATPBetaGrid.betas(blocks: 4, target: 0.5, points: 0) }
    }

    @Test func lowestNLLWinsAndTiesGoToTheSmallerBeta() throws {
        let points = [ATPBetaGrid.Point(beta: 0.3, nllSum: 5, perplexity: 2),
                      .init(beta: 0.1, nllSum: 7, perplexity: 3),
                      .init(beta: 0.2, nllSum: 5, perplexity: 2)]
        #expect(try ATPBetaGrid.choose(points).beta == 0.2)
        let grid = try ATPBetaGrid(heldoutTokens: 64, heldoutWindows: 2, requestedPoints: 3, points: points)
        #expect(grid.chosen == 0.2)
        #expect(throws: PruningError.self) { try ATPBetaGrid.choose([]) }
    }
}

/// Issue 12 item 8: every field of `PruningOptions` that changes the bits reaches the plan's
/// settings, and the job-level ones (propagation, windows, β grid) have keys. A new option that
/// is not recorded fails here.
@Suite struct PlanSettingsCoverageTests {
    static func keys(_ settings: PlanSettings) throws -> Set<String> {
        let data = try JSONEncoder().encode(settings)
        return Set((try JSONSerialization.jsonObject(with: data) as! [String: Any]).keys)
    }

    @Test func everyPruningOptionIsRecorded() throws {
        // The recorded key for each stored property of PruningOptions, under the method that reads it.
        let expected: [String: (PruningMethod, String)] = [
            "percdamp": (.sparsegpt, "sparsegpt_damp"), "blocksize": (.sparsegpt, "sparsegpt_blocksize"),
            "dsnot": (.wanda, "dsnot"), "dass": (.wanda, "dass"), "admm": (.wanda, "admm"),
        ]
        var all = PruningOptions()
        all.dsnot = DSnoTOptions()
        all.dass = DaSSOptions(scope: .all)
        all.admm = ADMMOptions()
        let fields = Mirror(reflecting: all).children.compactMap(\.label)
        #expect(Set(fields) == Set(expected.keys), "PruningOptions has fields \(fields): record each one in PlanSettings")
        for (field, (method, key)) in expected {
            var options = PruningOptions()
            switch field {
            case "dsnot": options.dsnot = DSnoTOptions()
            case "dass": options.dass = DaSSOptions()
            case "admm": options.admm = ADMMOptions()
            default: break
            }
            #expect(try Self.keys(PlanSettings(method: method, options: options)).contains(key), "\(field) → \(key)")
        }
        #expect(try Self.keys(PlanSettings(method: .ria, options: PruningOptions())).contains("ria_exponent"))
        // The nested options carry every one of their own fields.
        let dsnotKeys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DSnoTOptions())) as! [String: Any]
        #expect(Set(dsnotKeys.keys) == Set(Mirror(reflecting: DSnoTOptions()).children.compactMap(\.label)))
        let dassKeys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DaSSOptions())) as! [String: Any]
        #expect(Set(dassKeys.keys) == ["normExponent", "scope"])
        let admmKeys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ADMMOptions())) as! [String: Any]
        #expect(Set(admmKeys.keys).count == Mirror(reflecting: ADMMOptions()).children.count)

        var settings = PlanSettings(method: .wanda, options: PruningOptions())
        settings.propagation = "dense"
        settings.calibrationWindows = 4
        settings.calibrationLength = 16
        settings.atpBetaGrid = try ATPBetaGrid(heldoutTokens: 32, heldoutWindows: 2, requestedPoints: 1,
                                               points: [.init(beta: 0.1, nllSum: 1, perplexity: 1)])
        #expect(try Self.keys(settings) == ["propagation", "calibration_windows", "calibration_length", "atp_beta_grid"])
        let back = try JSONDecoder().decode(PlanSettings.self, from: JSONEncoder().encode(settings))
        #expect(back == settings)
    }
}
