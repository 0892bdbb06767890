import Checkpoint
import Foundation
import Tensor
import TestSupport
import Testing

/// Pruning covers every architecture unchanged (issue 8 item 3/4): on the tiny transformers-built
/// models of `Tests/Fixtures/transformers`, Wanda 50% and SparseGPT 2:4 write a directory whose
/// config.json is byte-identical to the input, whose seven linears per block have the expected
/// sparsity, whose biases, norms, embeddings and head are untouched, and whose tensors are
/// byte-identical for one and two ranks.
@Suite(.serialized) struct ArchitecturePruneTests {
    static let architectures = ["llama3", "mistral", "qwen2", "qwen3"]
    static let linears = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    /// Four windows of 32 seeded token ids (the sliding windows of 16 and 12 are reached).
    static func calibration(in dir: URL) throws -> URL {
        var g = SplitMix64(seed: 5)
        var bytes = Data()
        for _ in 0..<(4 * 32) {
            var id = UInt32(3 + g.next() % 1000).littleEndian
            withUnsafeBytes(of: &id) { bytes.append(contentsOf: $0) }
        }
        let url = dir.appendingPathComponent("calib.ids")
        try bytes.write(to: url)
        return url
    }

    @Test(arguments: architectures) func wandaAndSparseGPTOnEveryArchitecture(_ name: String) throws {
        let model = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/\(name)"))
        let scratch = try scratchDirectory("arch-\(name)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = try Self.calibration(in: scratch)
        let input = try CheckpointDirectory(url: model)
        for (method, pattern) in [("wanda", "unstructured"), ("sparsegpt", "2:4"), ("ria", "unstructured")] {
            var outputs: [URL] = []
            for ranks in [nil, 2] as [Int?] {
                let out = scratch.appendingPathComponent("\(method)-\(ranks ?? 1)")
                let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5",
                                          "--method", method, "--pattern", pattern, "--calib-tokens", calib.path,
                                          "--nsamples", "4", "--seqlen", "32", "--threads", "1"], ranks: ranks, timeout: 300)
                #expect(run.status == 0, "\(name) \(method) on \(ranks ?? 1) rank(s): \(run.stderr)")
                guard run.status == 0 else { return }
                outputs.append(out)
            }
            let out = outputs[0]
            #expect(try Data(contentsOf: out.appendingPathComponent("config.json"))
                == Data(contentsOf: model.appendingPathComponent("config.json")), "\(name): config.json changed")
            #expect(try differingTensors(outputs[0], outputs[1]).isEmpty, "\(name) \(method): 1 and 2 ranks differ")
            let pruned = try CheckpointDirectory(url: out)
            let changed = try differingTensors(model, out)
            let linearNames = (0..<4).flatMap { b in Self.linears.map { "model.layers.\(b).\($0).weight" } }
            #expect(Set(changed).isSubset(of: Set(linearNames)), "\(name): tensors other than the linears changed: \(Set(changed).subtracting(linearNames))")
            for tensor in linearNames {
                let w = try pruned.matrix(tensor)
                let zeros = w.elements.filter { $0 == 0 }.count
                // Row-wise and N:M rules prune exactly half; RIA's one threshold per matrix at least k+1.
                if method == "ria" {
                    #expect(zeros > w.count / 2 && zeros < w.count / 2 + w.count / 50, "\(name) ria: \(tensor) has \(zeros) zeros of \(w.count)")
                } else {
                    #expect(zeros == w.count / 2, "\(name) \(method): \(tensor) has \(zeros) zeros of \(w.count)")
                }
                if pattern == "2:4" {
                    for r in 0..<w.rows {
                        for g in stride(from: 0, to: w.cols, by: 4) {
                            let group = (g..<g + 4).filter { w[r, $0] == 0 }.count
                            #expect(group == 2, "\(name): \(tensor) row \(r) group \(g / 4) has \(group) zeros")
                            if group != 2 { return }
                        }
                    }
                }
            }
            // Biases and q/k norms are present where the architecture has them, and untouched.
            let extra = input.tensorNames.filter { $0.hasSuffix(".bias") || $0.contains("q_norm") || $0.contains("k_norm") }
            #expect(extra.count == (name == "qwen2" ? 12 : name == "qwen3" ? 8 : 0))
        }
    }

    /// The other methods and allocations run on every architecture too: OWL + DSnoT, ATP, DaSS,
    /// magnitude with 4:8, RIA with OWL and 2:4, DLP with Wanda and SparseGPT, each reaching its target over the linears.
    @Test(arguments: architectures) func otherMethodsOnEveryArchitecture(_ name: String) throws {
        let model = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/\(name)"))
        let scratch = try scratchDirectory("arch-methods-\(name)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = try Self.calibration(in: scratch)
        let variants: [[String]] = [
            ["--method", "wanda", "--allocation", "owl", "--owl-lambda", "0.04", "--dsnot"],
            ["--method", "sparsegpt", "--allocation", "atp", "--atp-beta", "0.02"],
            // `--dass-scope all`: the authors' default scope leaves attention dense (issue 12 item 7),
            // which would miss the 0.5 over all seven linears checked here (DaSSScopeTests covers it).
            ["--method", "wanda", "--dass", "--dass-scope", "all"],
            ["--method", "magnitude", "--pattern", "4:8"],
            ["--method", "ria", "--allocation", "owl", "--owl-lambda", "0.04"],
            ["--method", "ria", "--pattern", "2:4"],
            ["--method", "wanda", "--allocation", "dlp", "--dlp-alpha", "0.05"],
            ["--method", "sparsegpt", "--allocation", "dlp", "--dlp-alpha", "0.05"],
        ]
        for (i, variant) in variants.enumerated() {
            let out = scratch.appendingPathComponent("v\(i)")
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5",
                                      "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32"] + variant,
                                     ranks: nil, timeout: 300)
            #expect(run.status == 0, "\(name) \(variant): \(run.stderr)")
            guard run.status == 0 else { continue }
            let pruned = try CheckpointDirectory(url: out)
            var zeros = 0, total = 0
            for b in 0..<4 {
                for l in Self.linears {
                    let w = try pruned.matrix("model.layers.\(b).\(l).weight")
                    zeros += w.elements.filter { $0 == 0 }.count
                    total += w.count
                }
            }
            let achieved = Double(zeros) / Double(total)
            #expect(abs(achieved - 0.5) < 0.01, "\(name) \(variant): achieved \(achieved)")
        }
    }

    /// DLP's plan comes from an all-reduce of per-block scores: the same bits for 1 and 3 ranks.
    @Test func dlpIsRankIndependent() throws {
        let model = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/qwen2"))
        let scratch = try scratchDirectory("arch-dlp")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = try Self.calibration(in: scratch)
        var outs: [URL] = []
        for ranks in [nil, 3] as [Int?] {
            let out = scratch.appendingPathComponent("r\(ranks ?? 1)")
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.6", "--method", "wanda",
                                      "--allocation", "dlp", "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32"],
                                     ranks: ranks, timeout: 300)
            #expect(run.status == 0, "\(run.stderr)")
            outs.append(out)
        }
        #expect(try differingTensors(outs[0], outs[1]).isEmpty)
        let plans = try outs.map { try Data(contentsOf: $0.appendingPathComponent("owlprune-plan.json")) }
        #expect(plans[0] == plans[1])
        let plan = try JSONSerialization.jsonObject(with: plans[0]) as? [String: Any]
        let sparsities = plan?["block_sparsities"] as? [Double] ?? []
        #expect(plan?["allocation"] as? String == "dlp" && (plan?["dlp_scores"] as? [Double])?.count == 4)
        #expect(Set(sparsities).count > 1 && abs(sparsities.reduce(0, +) / 4 - 0.6) < 1e-9)
    }
}
