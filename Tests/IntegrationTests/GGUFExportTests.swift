import Foundation
import TestSupport
import Testing

/// Issue 13 item 5: `convert DIR --to gguf` writes what llama.cpp's converter writes. SmolLM2 is
/// exported and checked two ways: read back by owlprune (GGUF → directory → eval gives the same
/// nll_sum bits as the original directory for F32, and Q8_0 within 0.5 %), and by the `gguf`
/// package from PyPI against the official llama.cpp GGUF of the same model (every metadata key
/// with its value and type — tokens, token types, merges, `tokenizer.ggml.pre = smollm`, special
/// ids, chat template — the same tensor names and shapes, norms F32, Q8_0 bytes equal to gguf-py's
/// own quantizer, and q/k rows in llama.cpp's permuted order).
@Suite(.serialized) struct GGUFExportTests {
    struct EvalJSON: Decodable { let nll_sum: Double; let perplexity: Double }

    func owlprune(_ args: [String]) throws -> MPIRun.Outcome {
        let run = try MPIRun.run(args, ranks: nil, timeout: 300)
        #expect(run.status == 0, "owlprune \(args.joined(separator: " ")): \(run.stderr)")
        return run
    }

    func eval(_ model: URL, _ data: URL) throws -> EvalJSON {
        let run = try owlprune(["eval", "--model", model.path, "--data", data.path, "--seqlen", "64", "--max-windows", "3", "--json"])
        return try JSONDecoder().decode(EvalJSON.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
    }

    @Test func smolLM2ExportRoundTripsAndMatchesLlamaCppConventions() throws {
        let model = try RepoPaths.require(RepoPaths.smolHF)
        let official = try RepoPaths.require(RepoPaths.smolGGUF)
        let scratch = try scratchDirectory("gguf-export")
        defer { try? FileManager.default.removeItem(at: scratch) }
        // A short text keeps tokenizing cheap: the first 3 windows are all that is scored.
        let text = String(decoding: try Data(contentsOf: RepoPaths.wikitext.appendingPathComponent("wiki.test.raw")).prefix(4000), as: UTF8.self)
        let data = scratch.appendingPathComponent("text.raw")
        try Data(text.utf8).write(to: data)

        let f32 = scratch.appendingPathComponent("smol-f32.gguf"), q8 = scratch.appendingPathComponent("smol-q8_0.gguf")
        _ = try owlprune(["convert", model.path, "--to", "gguf", "--out", f32.path, "--dtype", "f32"])
        _ = try owlprune(["convert", model.path, "--out", q8.path, "--dtype", "q8_0"])  // --to gguf inferred from a directory
        let back32 = scratch.appendingPathComponent("back-f32"), back8 = scratch.appendingPathComponent("back-q8_0")
        _ = try owlprune(["convert", f32.path, "--out", back32.path])
        _ = try owlprune(["convert", q8.path, "--out", back8.path])
        let dense = try eval(model, data), viaF32 = try eval(back32, data), viaQ8 = try eval(back8, data)
        #expect(viaF32.nll_sum.bitPattern == dense.nll_sum.bitPattern, "F32 GGUF: nll_sum \(viaF32.nll_sum) vs \(dense.nll_sum)")
        let relative = abs(viaQ8.perplexity - dense.perplexity) / dense.perplexity
        #expect(relative < 5e-3, "Q8_0 GGUF: perplexity \(viaQ8.perplexity) vs \(dense.perplexity)")

        let script = """
        import sys, numpy as np
        from gguf import GGUFReader, GGMLQuantizationType as Q
        from gguf.quants import dequantize, quantize
        from safetensors.numpy import load_file
        ours_path, official_path, model = sys.argv[1:4]
        ours, ref = GGUFReader(ours_path), GGUFReader(official_path)
        assert ours.fields["GGUF.version"].contents() == 3
        # Keys the official file has from its model card or its Q4_1 quantization, not from the model.
        skip = {"general.name", "general.file_type", "general.organization", "general.finetune", "general.basename",
                "general.size_label", "general.license", "general.languages", "tokenizer.ggml.add_space_prefix", "GGUF.kv_count"}
        for k in ref.fields:
            if k in skip: continue
            assert k in ours.fields, f"missing key {k}"
            a, b = ours.fields[k].contents(), ref.fields[k].contents()
            if isinstance(b, float): assert abs(a - b) <= 1e-6 * abs(b), (k, a, b)
            else: assert a == b, (k, str(a)[:120], str(b)[:120])
            assert [t.name for t in ours.fields[k].types] == [t.name for t in ref.fields[k].types], k
        assert ours.fields["tokenizer.ggml.pre"].contents() == "smollm"
        assert ours.fields["general.file_type"].contents() == 7  # MOSTLY_Q8_0
        ot, rt = {t.name: t for t in ours.tensors}, {t.name: t for t in ref.tensors}
        assert set(ot) == set(rt), set(ot) ^ set(rt)
        w = load_file(model + "/model.safetensors")
        def permute(x, n):  # llama.cpp LlamaModel.permute
            return x.reshape(n, 2, x.shape[0] // n // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)
        glob = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
        hf = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
              "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
              "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
        for name, t in ot.items():
            assert list(t.shape) == list(rt[name].shape), (name, t.shape, rt[name].shape)
            assert t.tensor_type.name == ("F32" if len(t.shape) == 1 else "Q8_0"), (name, t.tensor_type.name)
            if name in glob: src = w[glob[name]]
            else:
                _, b, kind, _ = name.split(".")
                src = w[f"model.layers.{b}.{hf[kind]}.weight"]
                src = permute(src, 9) if kind == "attn_q" else permute(src, 3) if kind == "attn_k" else src
            if t.tensor_type == Q.Q8_0:
                want = np.asarray(quantize(src, Q.Q8_0)).reshape(-1).view(np.uint8)
                assert np.array_equal(want, np.asarray(t.data).reshape(-1).view(np.uint8)), f"{name}: Q8_0 bytes differ from gguf-py"
            else:
                assert np.array_equal(dequantize(t.data, t.tensor_type).reshape(src.shape), src), name
        print("ok", len(ot))
        """
        let (status, log) = try PythonScript.run(script, arguments: [q8.path, official.path, model.path])
        #expect(status == 0 && log.contains("ok 272"), "\(log)")
    }

    /// A tokenizer llama.cpp's table does not know is refused with the digest and what to pass;
    /// an existing output is kept without --force; no file is left behind.
    @Test func unknownTokenizerAndExistingOutputAreRefused() throws {
        let scratch = try scratchDirectory("gguf-refuse")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("tiny"), out = scratch.appendingPathComponent("tiny.gguf")
        try TinyCheckpoint.write(to: model, blocks: 1)
        let refused = try MPIRun.run(["convert", model.path, "--to", "gguf", "--out", out.path], ranks: nil, timeout: 60)
        #expect(refused.status != 0 && refused.stderr.contains("tokenizer.json") && refused.stderr.contains("--gguf-pre"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let forced = try MPIRun.run(["convert", model.path, "--to", "gguf", "--out", out.path, "--gguf-pre", "gpt-2", "--dtype", "f16"],
                                    ranks: nil, timeout: 60)
        #expect(forced.status == 0, "\(forced.stderr)")
        let again = try MPIRun.run(["convert", model.path, "--to", "gguf", "--out", out.path, "--gguf-pre", "gpt-2"], ranks: nil, timeout: 60)
        #expect(again.status != 0 && again.stderr.contains("--force"), "\(again.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp-") }
        #expect(files.isEmpty, "temporary files left: \(files)")
    }
}
