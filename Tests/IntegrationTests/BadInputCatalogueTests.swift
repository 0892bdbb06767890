import Foundation
import TestSupport
import Testing

/// The catalogue of bad inputs (issue 10 item 7): each case builds one bad file or command line,
/// runs the built binary as a plain process, and expects a non-zero exit and exactly one error
/// line, `owlprune: rank 0: <expected>`, as the last line of stderr (progress lines may come
/// before it, nothing after it: no MPICH banner), and no output directory left behind.
@Suite(.serialized) struct BadInputCatalogueTests {
    typealias F = BadInputFixtures

    static func header(_ json: String, _ data: Int) -> @Sendable (URL) throws -> [String] {
        { try F.safetensors($0, header: json, dataBytes: data) }
    }

    static let catalogue: [BadInput] = [
        // MARK: safetensors
        BadInput("safetensors shorter than its length field", "model.safetensors: file is 3 bytes, shorter than the 8-byte header length") {
            try F.rawSafetensors($0, Data([1, 2, 3]))
        },
        BadInput("safetensors header length past the end", "model.safetensors: header length 1000 runs past the end of the 12-byte file") {
            var d = Data(); withUnsafeBytes(of: UInt64(1000).littleEndian) { d.append(contentsOf: $0) }; d.append(Data("{}  ".utf8))
            return try F.rawSafetensors($0, d)
        },
        BadInput("safetensors header is a JSON array", "model.safetensors: header is not a valid JSON object: the top level is not an object",
                 header("[1, 2]", 0)),
        BadInput("safetensors header is not JSON", "model.safetensors: header is not a valid JSON object: The given data was not valid JSON.",
                 header("{\"a\": ", 0)),
        BadInput("safetensors duplicate tensor key", "model.safetensors: key 'a' appears twice (readers disagree on which copy wins)",
                 header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8)),
        BadInput("safetensors duplicate key spelled with an escape", "model.safetensors: key 'a' appears twice (readers disagree on which copy wins)",
                 header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8)),
        BadInput("safetensors duplicate field inside an entry", "model.safetensors: key 'dtype' appears twice in a (readers disagree on which copy wins)",
                 header(#"{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#, 4)),
        BadInput("safetensors unknown dtype", "model.safetensors: tensor 'a' has unknown dtype 'F33'",
                 header(#"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, 4)),
        BadInput("safetensors negative dimension", "model.safetensors: tensor 'a': shape: dimension -1 is negative",
                 header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4)),
        BadInput("safetensors zero dimension then huge ones", "model.safetensors: tensor 'a': shape: [0, 4294967296, 4294967296] overflows an element count",
                 header(#"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#, 0)),
        BadInput("safetensors three data offsets", "model.safetensors: tensor 'a': data_offsets: expected [begin, end], got 3 numbers",
                 header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, 8)),
        BadInput("safetensors begin after end", "model.safetensors: tensor 'a': data_offsets: begin 8 is negative or after end 4",
                 header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, 8)),
        BadInput("safetensors span past the data", "model.safetensors: tensor 'a' ends at byte 16, past the 8-byte data section",
                 header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8)),
        BadInput("safetensors span size mismatch", "model.safetensors: tensor 'a' (F32 [2, 2]) needs 16 bytes but data_offsets span 8",
                 header(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}"#, 8)),
        BadInput("safetensors overlapping spans", "model.safetensors: tensor 'b' spans bytes 4..12, overlapping 'a' (0..8)",
                 header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12)),
        BadInput("safetensors entry not an object", "model.safetensors: tensor 'a': entry: not a JSON object", header(#"{"a": 5}"#, 0)),
        BadInput("safetensors entry without dtype", "model.safetensors: tensor 'a': dtype: missing",
                 header(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, 4)),
        BadInput("safetensors metadata not strings", "model.safetensors: header is not a valid JSON object: __metadata__ must map strings to strings",
                 header(#"{"__metadata__":{"format":1}}"#, 0)),
        BadInput("safetensors tensor name with a newline and escapes",
                 #"model.safetensors: tensor 'x\nowlprune: rank 0: forged\u{1B}[2J' has unknown dtype 'Q'"#,
                 header(#"{"x\nowlprune: rank 0: forged\u001b[2J":{"dtype":"Q","shape":[1],"data_offsets":[0,4]}}"#, 4)),
        BadInput("NaN weight", "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' holds nan at element 5; weights must be finite") {
            try F.weight($0, tensor: "model.layers.0.self_attn.q_proj.weight", element: 5, value: .nan)
        },
        BadInput("infinite weight", "model.safetensors: tensor 'model.layers.1.mlp.down_proj.weight' holds inf at element 0; weights must be finite") {
            try F.weight($0, tensor: "model.layers.1.mlp.down_proj.weight", element: 0, value: .infinity)
        },
        BadInput("infinite embedding row", "model.safetensors: tensor 'model.embed_tokens.weight' holds -inf at element 3; weights must be finite") {
            try F.weight($0, tensor: "model.embed_tokens.weight", element: 3, value: -.infinity)
        },

        // MARK: config.json
        BadInput("config without hidden_size", "config.json: missing required field 'hidden_size'") {
            try F.config($0) { $0.removeValue(forKey: "hidden_size") }
        },
        BadInput("config with negative epsilon", "config.json: rms_norm_eps: must be positive") {
            try F.config($0) { $0["rms_norm_eps"] = -1e-5 }
        },
        BadInput("config vocab_size × hidden_size overflows", "config.json: vocab_size 1099511627776 × hidden_size 1099511627776 overflows a 64-bit size") {
            try F.config($0) { $0["vocab_size"] = 1 << 40; $0["hidden_size"] = 1 << 40 }
        },
        BadInput("config intermediate_size × hidden_size overflows", "config.json: intermediate_size 1099511627776 × hidden_size 1099511627776 overflows a 64-bit size") {
            try F.config($0) { $0["intermediate_size"] = 1 << 40; $0["hidden_size"] = 1 << 40 }
        },

        // MARK: tokenizer.json
        BadInput("tokenizer.json not JSON", "{dir}/tiny/tokenizer.json: not valid JSON: Unexpected end of file during JSON parse.") {
            try F.tokenizer($0, #"{"model": {"#)
        },
        BadInput("tokenizer vocabulary id beyond any real vocabulary",
                 "{dir}/tiny/tokenizer.json: field 'model.vocab': id 4294967295 of 'a' is above the limit of 16777215") {
            try F.tokenizer($0, #"{"model": {"type": "BPE", "vocab": {"a": 4294967295}, "merges": []}}"#)
        },
        BadInput("tokenizer added token with a negative id", "{dir}/tiny/tokenizer.json: field 'added_tokens[0].id': -1 out of range") {
            try F.tokenizer($0, #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": -1, "content": "x"}]}"#)
        },
        BadInput("tokenizer merge of an unknown token", "{dir}/tiny/tokenizer.json: model.merges[0] 'a z': 'z' is not in the vocabulary") {
            try F.tokenizer($0, #"{"model": {"type": "BPE", "vocab": {"a": 0, "az": 1}, "merges": ["a z"]}}"#)
        },
        BadInput("tokenizer component type with terminal escapes",
                 #"{dir}/tiny/tokenizer.json: pre_tokenizer of type 'X\u{1B}]0;pwned\u{7}' is not supported"#) {
            try F.tokenizer($0, #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "X\u001b]0;pwned\u0007"}}"#)
        },
        BadInput("tokenizer template token id negative", "{dir}/tiny/tokenizer.json: field 'post_processor.special_tokens': id -5 of '<s>' out of range") {
            try F.tokenizer($0, #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {"<s>": {"ids": [-5]}}}}"#)
        },

        // MARK: calibration and arguments
        BadInput("ids file of the wrong size", "--calib-tokens {dir}/ids.bin has 10 bytes; --nsamples 2 × --seqlen 16 uint32 ids need 128") {
            let (model, _) = try F.tiny(in: $0)
            try Data(count: 10).write(to: $0.appendingPathComponent("ids.bin"))
            return ["prune", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib-tokens",
                    $0.appendingPathComponent("ids.bin").path, "--nsamples", "2", "--seqlen", "16", "--sparsity", "0.5"]
        },
        BadInput("ids file with an id outside the vocabulary", "--calib-tokens {dir}/ids.bin: id 4294967295 at index 3 is outside the vocabulary of 256") {
            let (model, _) = try F.tiny(in: $0)
            var ids = [UInt32](repeating: 7, count: 32)
            ids[3] = .max
            try Data(ids.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }).write(to: $0.appendingPathComponent("ids.bin"))
            return ["prune", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib-tokens",
                    $0.appendingPathComponent("ids.bin").path, "--nsamples", "2", "--seqlen", "16", "--sparsity", "0.5"]
        },
        BadInput("--nsamples × --seqlen overflows", "--nsamples 4611686018427387904 × --seqlen 16 tokens overflow a 64-bit count") {
            let (model, text) = try F.tiny(in: $0)
            return ["prune", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--nsamples", "4611686018427387904", "--seqlen", "16", "--sparsity", "0.5"]
        },
        BadInput("--atp-beta auto with pre-tokenized windows", "--atp-beta auto needs --calib FILE (its held-out tail is cut from the text)") {
            let (model, _) = try F.tiny(in: $0)
            let ids = $0.appendingPathComponent("w.ids")
            try Data(repeating: 1, count: 2 * 16 * 4).write(to: ids)
            return ["prune", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib-tokens", ids.path,
                    "--nsamples", "2", "--seqlen", "16", "--sparsity", "0.5", "--allocation", "atp", "--atp-beta", "auto"]
        },
        BadInput("--atp-beta auto with no room for the held-out tail", "--calib {dir}/text.txt: 1800 tokens leave no room for 500 held-out windows of 16 tokens (--atp-heldout-windows) plus one calibration window") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"),
                           ["--allocation", "atp", "--atp-beta", "auto", "--atp-heldout-windows", "500"])
        },
        BadInput("--seqlen beyond the model", "--seqlen 4096 exceeds the model's max_position_embeddings 256") {
            let (model, text) = try F.tiny(in: $0)
            return ["prune", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--nsamples", "2", "--seqlen", "4096", "--sparsity", "0.5"]
        },
        BadInput("missing calibration file", "{dir}/nope.txt: cannot read: no such file or directory") {
            let (model, _) = try F.tiny(in: $0)
            return F.prune(model, $0.appendingPathComponent("nope.txt"), out: $0.appendingPathComponent("out"))
        },
        BadInput("missing model directory", "--model {dir}/nope: no such directory") {
            let (_, text) = try F.tiny(in: $0)
            return F.eval($0.appendingPathComponent("nope"), text)
        },
        // MARK: issue 13: errors that say what to do, recipes
        BadInput("a GGUF file as --model", "--model {dir}/m.gguf: a GGUF file; run `owlprune convert {dir}/m.gguf --out DIR` first, then pass DIR") {
            let (_, text) = try F.tiny(in: $0)
            try Data([0]).write(to: $0.appendingPathComponent("m.gguf"))
            return F.eval($0.appendingPathComponent("m.gguf"), text)
        },
        BadInput("a hub id as --model",
                 "--model HuggingFaceTB/SmolLM2-135M: no such directory; if this is a hub id, download it first (e.g. `huggingface-cli download HuggingFaceTB/SmolLM2-135M --local-dir DIR`); owlprune reads local directories") {
            let (_, text) = try F.tiny(in: $0)
            return ["eval", "--model", "HuggingFaceTB/SmolLM2-135M", "--data", text.path]
        },
        BadInput("a directory without config.json as --model",
                 "--model {dir}: no config.json; expected a Hugging Face checkpoint directory holding config.json, tokenizer.json and model.safetensors (or model.safetensors.index.json and its shards)") {
            let (_, text) = try F.tiny(in: $0)
            return F.eval($0, text)
        },
        BadInput("recipe with an unknown key", "recipe {dir}/r.yaml line 2: unknown key 'sparsty' (known: model, calib, calib-tokens, nsamples, seqlen, seed, method, sparsity, pattern, allocation, owl-m, owl-lambda, atp-beta, atp-grid-points, atp-heldout-windows, dlp-alpha, alpha-epsilon, alpha-fit, update, admm-iterations, admm-mask-steps, admm-rho, admm-damp, dsnot, dsnot-sign-constraint, dsnot-all-layers, dass, dass-scope, damp, propagation, split, threads, max-memory, dtype, max-shard-size, remove-blocks, remove-by, replacement, train-epochs, train-batch, train-lr, train-heldout-windows, overrides, targets, ignore)") {
            let (model, text) = try F.tiny(in: $0)
            try "method: wanda\nsparsty: 0.5\n".write(to: $0.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--recipe", $0.appendingPathComponent("r.yaml").path])
        },
        BadInput("recipe override of a block the model lacks", "recipe overrides[0].blocks 7: the model has blocks 0…1") {
            let (model, text) = try F.tiny(in: $0)
            try "overrides:\n  - blocks: [7]\n    sparsity: 0.5\n".write(to: $0.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--recipe", $0.appendingPathComponent("r.yaml").path])
        },
        BadInput("recipe ignore that is not a regular expression", "recipe {dir}/r.yaml line 2: '(mlp' is not a valid regular expression") {
            let (model, text) = try F.tiny(in: $0)
            try "ignore:\n  - '(mlp'\n".write(to: $0.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--recipe", $0.appendingPathComponent("r.yaml").path])
        },

        // MARK: issue 26: recipes that prune nothing, hostile YAML and expressions, sizes, late checks
        BadInput("recipe targets that match no linear", "recipe targets[0] mpl: matches no linear (names look like model.layers.0.self_attn.q_proj)") {
            try recipe($0, "method: wanda\ntargets:\n  - 'mpl'\n")
        },
        BadInput("recipe ignore that matches every linear",
                 "recipe targets/ignore/overrides: together they leave no linear to prune (every one keeps all its weights); the run would only copy the model") {
            try recipe($0, "method: wanda\nignore:\n  - 'proj'\n")
        },
        BadInput("recipe targets and ignore that cancel out",
                 "recipe targets/ignore/overrides: together they leave no linear to prune (every one keeps all its weights); the run would only copy the model") {
            try recipe($0, "method: wanda\ntargets:\n  - 'mlp'\nignore:\n  - 'mlp\\.'\n")
        },
        BadInput("recipe expression that backtracks exponentially",
                 "recipe targets[0] ^(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*X$: matching it against the model's 14 module names took more than 5 s (nested quantifiers such as (a*)* backtrack exponentially); write it without nesting") {
            try recipe($0, "method: wanda\ntargets:\n  - '^(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*X$'\n")
        },
        BadInput("recipe nested 100000 brackets deep", "--recipe {dir}/r.yaml: line 1: brackets nested more than 32 deep") {
            try recipe($0, "overrides: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n")
        },
        BadInput("recipe indented 100000 levels", "--recipe {dir}/r.yaml: line 3: indented more than 64 columns") {
            try recipe($0, "overrides:\n- \n" + String(repeating: "- ", count: 100_000) + "x\n")
        },
        BadInput("recipe of two megabytes", "--recipe {dir}/r.yaml: cannot read it (is 2000017 bytes, more than the 1048576 such a file may have)") {
            try recipe($0, "method: wanda\n# " + String(repeating: "x", count: 2_000_000) + "\n")
        },
        BadInput("sweep grid of 1200 cells",
                 "sweep: the grid has 1200 cells (2 methods × 2 allocations × 300 sparsities), more than --max-cells 1000; raise --max-cells to run it") {
            let (model, text) = try F.tiny(in: $0)
            return ["sweep", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--eval", text.path, "--method", "wanda,magnitude", "--allocation", "uniform,owl",
                    "--sparsity", (0..<300).map { "0.\(String(format: "%04d", $0 + 1000))" }.joined(separator: ",")]
        },
        // Every cell's plan is made before the first cell prunes (before, this cell stopped the
        // sweep when its turn came, after the other cells had run).
        BadInput("sweep cell whose plan cannot exist",
                 "sweep cell wanda-alpha-0.7: --alpha-epsilon 0.5: pushes block 0 to sparsity 1.0499999999999998; the largest valid value is about 0.42 (every plan is checked before the first cell prunes: nothing was pruned)") {
            let (model, text) = try F.tiny(in: $0)
            return ["sweep", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--eval", text.path, "--nsamples", "2", "--seqlen", "16", "--method", "wanda",
                    "--allocation", "uniform,alpha", "--sparsity", "0.5,0.7", "--prune-option=--alpha-epsilon=0.5"]
        },
        BadInput("synth hidden size that overflows",
                 "{dir}/out: the checkpoint's size (2 blocks, hidden 4611686018427387904, intermediate 8, vocabulary 256) overflows a 64-bit size") {
            let (model, _) = try F.tiny(in: $0)
            return ["synth", "--shape", "custom", "--hidden", "4611686018427387904", "--intermediate", "8", "--layers", "2",
                    "--heads", "1", "--tokenizer", model.path, "--out", $0.appendingPathComponent("out").path]
        },
        BadInput("synth with 2^63-1 blocks",
                 "{dir}/out: the checkpoint's size (9223372036854775807 blocks, hidden 64, intermediate 128, vocabulary 256) overflows a 64-bit size") {
            let (model, _) = try F.tiny(in: $0)
            return ["synth", "--shape", "custom", "--hidden", "64", "--intermediate", "128", "--layers", "9223372036854775807",
                    "--heads", "1", "--tokenizer", model.path, "--out", $0.appendingPathComponent("out").path]
        },
        BadInput("prune --eval text that is not UTF-8, refused before pruning", "{dir}/bad.txt: invalid UTF-8 at byte offset 3") {
            let (model, text) = try F.tiny(in: $0)
            try Data([0x61, 0x62, 0x63, 0xFF, 0x64]).write(to: $0.appendingPathComponent("bad.txt"))
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--eval", $0.appendingPathComponent("bad.txt").path])
        },
        BadInput("config num_hidden_layers below the blocks stored",
                 "tensor 'model.layers.1.input_layernorm.weight' is not used by this architecture: config.json says num_hidden_layers 1, so blocks are 0…0") {
            try F.config($0) { $0["num_hidden_layers"] = 1 }
        },
        BadInput("config num_hidden_layers above the blocks stored", "tensor 'model.layers.2.self_attn.q_proj.weight' is not in the checkpoint") {
            try F.config($0) { $0["num_hidden_layers"] = 3 }
        },

        BadInput("--max-memory not a size", "The value '12Q' is invalid for '--max-memory <size>': expected a size such as 5GB, 500MB (powers of ten), 2GiB (powers of two) or a number of bytes") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--max-memory", "12Q"])
        },
        // Issue 23: a unit letter without B is ambiguous (10^9 or 2^30); the error says both.
        BadInput("--max-memory with a bare unit letter", "The value '48G' is invalid for '--max-memory <size>': say 48GB (48·10^9 bytes) or 48GiB (48·2^30 bytes)") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--max-memory", "48G"])
        },
        BadInput("--remove-blocks 0", "--remove-blocks 0: must be at least 1") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--method", "shortgpt", "--remove-blocks", "0"])
        },
        BadInput("--remove-blocks every block", "--remove-blocks 2: the model has 2 blocks (num_hidden_layers); at least one must remain") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--method", "shortgpt", "--remove-blocks", "2"])
        },
        BadInput("--remove-blocks beyond SLEB's barriers", "--remove-blocks 1: SLEB never removes the first or last remaining block, so at most 0 of 2 can go") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--method", "sleb", "--remove-blocks", "1"])
        },
        BadInput("--remove-by streamline layer with --atp-beta auto", "--atp-beta auto: not available with --remove-by streamline --replacement layer (both hold out the end of --calib); give a number, or --replacement none|linear") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--method", "wanda", "--allocation", "atp", "--atp-beta", "auto",
                                                                                "--remove-by", "streamline", "--remove-blocks", "1"])
        },
        BadInput("sweep depth method without remove-blocks", "sweep cell shortgpt: --method shortgpt removes blocks; give the grid remove-blocks (e.g. --remove-blocks 4,8)") {
            let (model, text) = try F.tiny(in: $0)
            return ["sweep", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--eval", text.path, "--method", "shortgpt", "--allocation", "uniform", "--sparsity", "0.5"]
        },
        BadInput("sweep pruning cell with remove-blocks and no remove-by", "sweep cell wanda-uniform-0.5-k1: remove-blocks 1 beside --method wanda needs remove-by (shortgpt, sleb or streamline) in the shared options") {
            let (model, text) = try F.tiny(in: $0)
            return ["sweep", "--model", model.path, "--out", $0.appendingPathComponent("out").path, "--calib", text.path,
                    "--eval", text.path, "--method", "wanda", "--allocation", "uniform", "--sparsity", "0.5", "--remove-blocks", "1"]
        },
        BadInput("--max-shard-size not a size", "The value '5XB' is invalid for '--max-shard-size <size>': expected a size such as 5GB, 500MB (powers of ten), 2GiB (powers of two) or a number of bytes") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("out"), ["--max-shard-size", "5XB"])
        },

        // MARK: --out and --force
        BadInput("--out is --model", "--out {dir}/tiny is the same path as --model {dir}/tiny; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: model, ["--force"])
        },
        BadInput("--out inside --model", "--out {dir}/tiny/pruned is inside --model {dir}/tiny; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: model.appendingPathComponent("pruned"))
        },
        BadInput("--out contains --model", "--out {dir} contains --model {dir}/tiny; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0, ["--force"])
        },
        BadInput("--out is the calibration file", "--out {dir}/text.txt is the same path as --calib {dir}/text.txt; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: text, ["--force"])
        },
        BadInput("--force on a foreign directory",
                 "--out {dir}/mine is a non-empty directory owlprune did not write (no owlprune-report.json or .owlprune-output); refusing to replace it, even with --force") {
            let (model, text) = try F.tiny(in: $0)
            let mine = $0.appendingPathComponent("mine")
            try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
            try "thesis".write(to: mine.appendingPathComponent("chapter1.tex"), atomically: true, encoding: .utf8)
            return F.prune(model, text, out: mine, ["--force"])
        },
        BadInput("--force on a file", "--out {dir}/notes.txt is a file, not a directory; refusing to replace it") {
            let (model, text) = try F.tiny(in: $0)
            try "notes".write(to: $0.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
            return F.prune(model, text, out: $0.appendingPathComponent("notes.txt"), ["--force"])
        },
        BadInput("--force on a symbolic link", "--out {dir}/link is a symbolic link; refusing to replace it") {
            let (model, text) = try F.tiny(in: $0)
            try FileManager.default.createSymbolicLink(atPath: $0.appendingPathComponent("link").path, withDestinationPath: "/tmp")
            return F.prune(model, text, out: $0.appendingPathComponent("link"), ["--force"])
        },
        BadInput("--out exists without --force", "--out {dir}/done already exists; pass --force to replace it") {
            let (model, text) = try F.tiny(in: $0)
            try FileManager.default.createDirectory(at: $0.appendingPathComponent("done"), withIntermediateDirectories: true)
            return F.prune(model, text, out: $0.appendingPathComponent("done"))
        },
        BadInput("--out parent missing", "--out: parent directory {dir}/no/such does not exist") {
            let (model, text) = try F.tiny(in: $0)
            return F.prune(model, text, out: $0.appendingPathComponent("no/such/out"))
        },
        BadInput("convert --out is the GGUF file", "--out {dir}/tiny.gguf is the same path as the input {dir}/tiny.gguf; choose an output outside the inputs") {
            let file = try TinyLlamaGGUF().write(to: $0.appendingPathComponent("tiny.gguf"))
            return ["convert", file.path, "--out", file.path, "--force"]
        },

        BadInput("tokenize --out is the text file", "--out {dir}/text.txt is the same path as --text {dir}/text.txt; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return ["tokenize", "--model", model.path, "--text", text.path, "--out", text.path]
        },
        BadInput("plan --out inside --model", "--out {dir}/tiny/config.json is inside --model {dir}/tiny; choose an output outside the inputs") {
            let (model, text) = try F.tiny(in: $0)
            return ["plan", "--model", model.path, "--calib", text.path, "--nsamples", "2", "--seqlen", "16", "--sparsity", "0.5",
                    "--out", model.appendingPathComponent("config.json").path]
        },

        // MARK: GGUF
        BadInput("GGUF bad magic", "tiny.gguf: not a GGUF file (magic is not 'GGUF')") {
            var bytes = TinyLlamaGGUF().bytes(); bytes[0] = 0x58
            return try F.rawGGUF($0, bytes)
        },
        BadInput("GGUF version 4", "tiny.gguf: GGUF version 4 is not supported (2 or 3; big-endian files are not)") {
            var bytes = TinyLlamaGGUF().bytes(); bytes[4] = 4
            return try F.rawGGUF($0, bytes)
        },
        BadInput("GGUF truncated in the metadata", "tiny.gguf: file ends at byte 100 while reading type of key 'llama.context_length' (at byte 97)") {
            try F.rawGGUF($0, TinyLlamaGGUF().bytes().prefix(100))
        },
        BadInput("GGUF duplicate metadata key", "tiny.gguf: key 'llama.block_count' appears twice") {
            try F.gguf($0) { g in g.metadata.append(("llama.block_count", 4, TinyLlamaGGUF.u32(2))) }
        },
        BadInput("GGUF zero dimension then huge ones", "tiny.gguf: tensor 'blk.0.attn_q.weight': dimensions [0, 4194304, 4194304, 4194304] overflow an element count") {
            try F.gguf($0) { g in
                g.setDims("blk.0.attn_q.weight", [0, 4_194_304, 4_194_304, 4_194_304])
                g.tensors.append(("padding", [4_194_304], 24, [UInt8](repeating: 0, count: 4_194_304), nil))  // makes the file large enough
            }
        },
        BadInput("GGUF overlapping tensor data",
                 "tiny.gguf: data of tensor 'blk.0.attn_q.weight' (bytes 0..4096) overlaps tensor 'blk.0.attn_k.weight' (0..2048)") {
            try F.gguf($0) { g in
                let q = g.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" }!
                let k = g.tensors.firstIndex { $0.name == "blk.0.attn_k.weight" }!
                g.tensors[q].offset = 0; g.tensors[k].offset = 0
                g.tensors.swapAt(0, q)
            }
        },
        BadInput("GGUF unknown tensor type", "tiny.gguf: tensor 'blk.0.attn_q.weight' has unknown or unsupported ggml type 99") {
            try F.gguf($0) { g in g.tensors[g.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" }!].type = 99 }
        },
        BadInput("convert: tensor missing", "tiny.gguf: tensor 'blk.1.ffn_down.weight': missing; the metadata describes a 2-block model that needs it") {
            try F.gguf($0) { $0.removeTensor("blk.1.ffn_down.weight") }
        },
        BadInput("convert: wrong shape", "tiny.gguf: tensor 'blk.0.ffn_up.weight': shape [32, 64] (Hugging Face order) differs from [64, 32], which the metadata implies") {
            try F.gguf($0) { $0.setDims("blk.0.ffn_up.weight", [64, 32]) }
        },
        BadInput("convert: block count too small",
                 "tiny.gguf: tensor 'blk.1.attn_q.weight': not part of the model the metadata describes (llama.block_count 1, tie_word_embeddings true)") {
            try F.gguf($0) { $0.set("llama.block_count", uint32: 1) }
        },
        BadInput("convert: negative epsilon",
                 "tiny.gguf: metadata key 'llama.attention.layer_norm_rms_epsilon' is -1e-05, expected a positive finite number") {
            try F.gguf($0) { $0.set("llama.attention.layer_norm_rms_epsilon", float32: -1e-5) }
        },
        BadInput("convert: vocabulary size differs from the tokens", "tiny.gguf: llama.vocab_size is 300 but tokenizer.ggml.tokens has 257 entries") {
            try F.gguf($0) { $0.set("llama.vocab_size", uint32: 300) }
        },
        BadInput("convert: embedding rows differ from the vocabulary",
                 "tiny.gguf: tensor 'token_embd.weight': shape [256, 32] (Hugging Face order) differs from [257, 32], which the metadata implies") {
            try F.gguf($0) { $0.setDims("token_embd.weight", [32, 256]) }
        },
    ]

    /// The tiny checkpoint pruned with `r.yaml` holding `yaml`.
    static func recipe(_ dir: URL, _ yaml: String) throws -> [String] {
        let (model, text) = try F.tiny(in: dir)
        try yaml.write(to: dir.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
        return F.prune(model, text, out: dir.appendingPathComponent("out"), ["--recipe", dir.appendingPathComponent("r.yaml").path])
    }

    @Test func catalogueIsLargeEnough() {
        #expect(Self.catalogue.count >= 40)
        #expect(Set(Self.catalogue.map(\.name)).count == Self.catalogue.count)
    }

    @Test(arguments: catalogue) func rejectedWithOneLine(_ input: BadInput) throws {
        let dir = try scratchDirectory("catalogue")
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = try input.build(dir)
        let run = try MPIRun.run(args, ranks: nil, timeout: 60)
        let expected = "owlprune: rank 0: " + input.expected.replacingOccurrences(of: "{dir}", with: dir.path)
        #expect(run.status != 0 && !run.timedOut, "\(input.name): status \(run.status)")
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(run.stderr.hasSuffix("\n") && lines.dropLast().last.map(String.init) == expected
                && lines.filter { $0.hasPrefix("owlprune:") }.count == 1,
                "\(input.name):\n got: \(run.stderr)\nwant: \(expected)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.contains(".tmp-") || $0.hasSuffix(".lock") || $0 == "out" || $0 == "converted" }
        #expect(leftovers.isEmpty, "\(input.name): left behind \(leftovers)")
    }
}
