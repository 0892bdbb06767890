import Foundation
import Pruning
import Tensor
import Testing

/// ReplaceMe's least-squares linear map (issue 24 item 3) against NumPy's float64 computation of
/// the authors' formula (Tests/Fixtures/transformers/make_gradient_fixtures.py writes
/// gradients/replaceme.json): T = inv(MᵀM + αI)·Mᵀ(h_e + M − h_s), folded as Tᵀ·W_down.
@Suite struct ReplaceMeLinearTests {
    struct Window: Decodable {
        let mlp: [[Float]]
        let cut_input: [[Float]]
        let cut_output: [[Float]]
    }

    struct Result: Decodable {
        let alpha: Double
        let transform: [[Double]]
        let folded: [[Float]]
    }

    struct Reference: Decodable {
        let hidden: Int
        let windows: [Window]
        let down: [[Float]]
        let results: [Result]
    }

    static func reference() throws -> Reference {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/transformers/gradients/replaceme.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func estimate(_ r: Reference, windows: ArraySlice<Window>) -> ReplaceMeEstimate {
        var e = ReplaceMeEstimate(hidden: r.hidden)
        for w in windows {
            e.add(ReplaceMeEstimate.term(mlpOutput: Matrix(w.mlp), cutInput: Matrix(w.cut_input), cutOutput: Matrix(w.cut_output)))
        }
        return e
    }

    @Test func transformAndFoldedDownMatchNumPy() throws {
        let r = try Self.reference()
        let e = Self.estimate(r, windows: r.windows[...])
        #expect(e.tokens == 30)
        for want in r.results {
            let t = try #require(e.transform(ridge: want.alpha))
            let flat = want.transform.flatMap { $0 }
            let scale = flat.map(abs).max()!
            let worst = zip(t.elements, flat).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-10 * scale, "alpha \(want.alpha): max |ΔT| \(worst) of \(scale)")
            let folded = ReplaceMeEstimate.foldedDownProjection(Matrix(r.down), transform: t)
            let foldedWorst = zip(folded.elements, want.folded.flatMap { $0 }).map { abs($0 - $1) }.max()!
            // One float32 rounding of the same float64 value, up to the last bit.
            #expect(foldedWorst <= 1e-6, "alpha \(want.alpha): folded down off by \(foldedWorst)")
        }
        // Control: the ridge matters (α = 0.5 is not the α = 0 answer).
        let t0 = try #require(e.transform(ridge: 0)), wrong = r.results[1].transform.flatMap { $0 }
        #expect(zip(t0.elements, wrong).map { abs($0 - $1) }.max()! > 1e-6)
    }

    /// Terms computed separately (as on separate ranks) and folded in window order give the
    /// same bits as one pass; too few tokens for the hidden size and no ridge is refused, a ridge
    /// makes it solvable.
    @Test func foldedTermsAndSingularGram() throws {
        let r = try Self.reference()
        let terms = r.windows.reversed().map {
            ReplaceMeEstimate.term(mlpOutput: Matrix($0.mlp), cutInput: Matrix($0.cut_input), cutOutput: Matrix($0.cut_output))
        }.reversed()
        var chained = ReplaceMeEstimate(hidden: r.hidden)
        for t in terms { chained.add(t) }
        #expect(chained == Self.estimate(r, windows: r.windows[...]))
        // Control: the fold sees every window.
        #expect(chained != Self.estimate(r, windows: r.windows[0..<2]))
        var few = ReplaceMeEstimate(hidden: r.hidden)
        let w = r.windows[0]
        few.add(ReplaceMeEstimate.term(mlpOutput: Matrix(Array(w.mlp.prefix(3))), cutInput: Matrix(Array(w.cut_input.prefix(3))),
                                       cutOutput: Matrix(Array(w.cut_output.prefix(3)))))
        #expect(few.transform(ridge: 0) == nil)
        #expect(few.transform(ridge: 0.1) != nil)
    }
}
