import Foundation
import TestSupport
import Testing

/// Issue 27: the GGUF export writes `general.size_label` as `convert_hf_to_gguf.py` does when
/// no model card names one — gguf-py's own `model_weight_count_rounded_notation` of the exported
/// element count — so a model with blocks removed gets its smaller label (docs/quality.md §5).
@Suite struct GGUFSizeLabelTests {
    @Test func sizeLabelIsGGUFPyNotationOfTheElementCount() throws {
        let scratch = try scratchDirectory("gguf-size-label")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var labels: [String] = []
        for blocks in [1, 6] {
            let model = scratch.appendingPathComponent("tiny\(blocks)"), out = scratch.appendingPathComponent("tiny\(blocks).gguf")
            try TinyCheckpoint.write(to: model, blocks: blocks)
            let run = try MPIRun.run(["convert", model.path, "--to", "gguf", "--out", out.path, "--gguf-pre", "gpt-2", "--dtype", "f32"],
                                     ranks: nil, timeout: 60)
            #expect(run.status == 0, "\(run.stderr)")
            let script = """
            import sys
            from math import prod
            from gguf import GGUFReader
            from gguf.utility import model_weight_count_rounded_notation
            r = GGUFReader(sys.argv[1])
            total = sum(prod(int(d) for d in t.shape) for t in r.tensors)
            label = r.fields['general.size_label'].contents()
            want = model_weight_count_rounded_notation(total, min_digits=2)
            assert label == want, (label, want, total)
            print(label)
            """
            let (status, log) = try PythonScript.run(script, arguments: [out.path])
            #expect(status == 0, "\(log)")
            labels.append(log.split(separator: "\n").last.map(String.init) ?? "")
        }
        // 256×32 embedding + 32 final norm + per block 9216 linear + 64 norm elements: 17504 ("18K") for
        // one block, 63904 ("64K") for six. The control is that the two labels differ.
        #expect(labels == ["18K", "64K"], "\(labels)")
    }

    /// `convert_hf_to_gguf.py` writes `llama.attention.key_length`/`value_length` whenever
    /// config.json names `head_dim` (SmolLM2's does), even when it is hidden / heads; without the
    /// key (the control) neither is written.
    @Test func headLengthsFollowAnExplicitHeadDim() throws {
        let scratch = try scratchDirectory("gguf-head-dim")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var found: [String] = []
        for explicit in [false, true] {
            let model = scratch.appendingPathComponent("tiny-\(explicit)"), out = scratch.appendingPathComponent("tiny-\(explicit).gguf")
            try TinyCheckpoint.write(to: model, blocks: 1)
            if explicit {
                let config = model.appendingPathComponent("config.json")
                let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"vocab_size\"", with: "\"head_dim\": 8, \"vocab_size\"")
                try text.write(to: config, atomically: true, encoding: .utf8)
            }
            let run = try MPIRun.run(["convert", model.path, "--to", "gguf", "--out", out.path, "--gguf-pre", "gpt-2", "--dtype", "f32"],
                                     ranks: nil, timeout: 60)
            #expect(run.status == 0, "\(run.stderr)")
            let script = """
            import sys
            from gguf import GGUFReader
            f = GGUFReader(sys.argv[1]).fields
            print([int(f[k].contents()) if k in f else None for k in ('llama.attention.key_length', 'llama.attention.value_length')])
            """
            let (status, log) = try PythonScript.run(script, arguments: [out.path])
            #expect(status == 0, "\(log)")
            found.append(log.split(separator: "\n").last.map(String.init) ?? "")
        }
        #expect(found == ["[None, None]", "[8, 8]"], "\(found)")
    }
}
