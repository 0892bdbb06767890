import Foundation
import TestSupport
import Testing

/// `--update admm` end to end on a tiny transformers-built model: Wanda's mask with the ADMM
/// update, and ADMM choosing its own mask in place of SparseGPT, give the same bytes for 1 and 2
/// ranks, and the update changes the kept weights (it is not plain Wanda).
@Suite(.serialized) struct ADMMPruneTests {
    @Test func admmIsRankIndependent() throws {
        let model = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/llama3"))
        let scratch = try scratchDirectory("admm-ranks")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = try ArchitecturePruneTests.calibration(in: scratch)
        func prune(_ extra: [String], ranks: Int?, _ name: String) throws -> URL? {
            let out = scratch.appendingPathComponent(name)
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5",
                                      "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32"] + extra,
                                     ranks: ranks, timeout: 300)
            #expect(run.status == 0, "\(extra): \(run.stderr)")
            return run.status == 0 ? out : nil
        }
        for method in ["wanda", "sparsegpt"] {
            guard let one = try prune(["--method", method, "--update", "admm"], ranks: nil, "\(method)-1"),
                  let two = try prune(["--method", method, "--update", "admm"], ranks: 2, "\(method)-2") else { return }
            #expect(try differingTensors(one, two).isEmpty, "\(method): 1 and 2 ranks differ")
        }
        guard let plain = try prune(["--method", "wanda"], ranks: nil, "wanda-plain") else { return }
        #expect(try !differingTensors(plain, scratch.appendingPathComponent("wanda-1")).isEmpty)
    }
}
