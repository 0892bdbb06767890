import Foundation
import TestSupport
import Testing

/// Issue 13: `prune --max-shard-size` splits the weights as Hugging Face does, with the same
/// file names and bytes for any rank count (docs/design.md §3 "Output"), the split matches
/// huggingface_hub's own, the result loads with Python safetensors and `owlprune eval`, resume
/// across rank counts still gives the same bytes, and `OUT/owlprune-recipe.yaml` reproduces a
/// `--dtype bf16` sharded prune byte for byte. A 30 kB limit on the 3-block tiny model (32 kB
/// embedding, 37 kB per block in f32) forces an oversized tensor and several shards.
@Suite(.serialized) struct MaxShardSizeTests {
    let scratch: URL
    let model: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("max-shard-size")
        (model, text) = try BadInputFixtures.tiny(in: scratch, blocks: 3)
    }

    func prune(_ out: URL, ranks: Int?, _ extra: [String], kill: (String, Int)? = nil) throws -> MPIRun.Outcome {
        let env = kill.map { ["OWLPRUNE_FAULT_KILL_AT": $0.0, "OWLPRUNE_FAULT_KILL_RANK": String($0.1)] } ?? [:]
        return try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--calib", text.path, "--nsamples", "2",
                               "--seqlen", "16", "--sparsity", "0.5", "--method", "wanda", "--allocation", "owl"] + extra,
                              ranks: ranks, timeout: 120, environment: env)
    }

    /// The weight files (shards and index) of a directory, name → bytes.
    func weightFiles(_ dir: URL) throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".safetensors") || $0 == "model.safetensors.index.json" }
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: dir.appendingPathComponent($0))) })
    }

    @Test func shardsAreHuggingFacesAndIdenticalForOneToThreeRanks() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let one = scratch.appendingPathComponent("r1")
        let first = try prune(one, ranks: nil, ["--max-shard-size", "30KB"])
        #expect(first.status == 0, "\(first.stderr)")
        let reference = try weightFiles(one)
        #expect(reference.keys.sorted() == ["model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors",
                                             "model-00003-of-00005.safetensors", "model-00004-of-00005.safetensors",
                                             "model-00005-of-00005.safetensors", "model.safetensors.index.json"],
                "\(reference.keys.sorted())")
        for r in [2, 3] {
            let out = scratch.appendingPathComponent("r\(r)")
            let run = try prune(out, ranks: r, ["--max-shard-size", "30KB"])
            #expect(run.status == 0, "\(r) ranks: \(run.stderr)")
            let files = try weightFiles(out)
            #expect(files.keys.sorted() == reference.keys.sorted(), "\(r) ranks: files \(files.keys.sorted())")
            #expect(files == reference, "\(r) ranks: shard bytes differ from one rank")
        }
        // The default limit: one model.safetensors, no index, the same tensors.
        let single = scratch.appendingPathComponent("single")
        let plain = try prune(single, ranks: 2, [])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try weightFiles(single).keys.sorted() == ["model.safetensors"])
        #expect(try differingTensors(one, single).isEmpty, "sharding changed tensor bytes")

        // huggingface_hub's own split of the same tensors, in the same order, names the same files.
        let script = """
        import sys, json, numpy as np
        from safetensors.numpy import load_file
        from huggingface_hub.serialization._base import split_state_dict_into_shards_factory
        from transformers import AutoConfig
        d = sys.argv[1]
        index = json.load(open(d + "/model.safetensors.index.json"))
        tensors = {}
        for shard in sorted(set(index["weight_map"].values())):
            part = load_file(d + "/" + shard)
            assert all(index["weight_map"][k] == shard for k in part), shard
            tensors.update(part)
        assert set(tensors) == set(index["weight_map"])
        assert index["metadata"]["total_size"] == sum(t.nbytes for t in tensors.values())
        def key(n):
            if n.startswith("model.layers."):
                return (1, int(n.split(".")[2]), n)
            return (0 if "embed" in n else 2, 0, n)
        ordered = {k: tensors[k] for k in sorted(tensors, key=key)}
        split = split_state_dict_into_shards_factory(ordered, get_storage_size=lambda t: t.nbytes,
                                                     filename_pattern="model{suffix}.safetensors", max_shard_size=30000)
        assert split.tensor_to_filename == index["weight_map"], (split.tensor_to_filename, index["weight_map"])
        c = AutoConfig.from_pretrained(d)
        assert c.num_hidden_layers == 3
        print("ok", len(tensors), len(split.filename_to_tensors))
        """
        let (status, log) = try PythonScript.run(script, arguments: [one.path])
        #expect(status == 0 && log.contains("ok"), "\(log)")

        // owlprune eval reads the shards and gives what the single file gives.
        func eval(_ dir: URL) throws -> String {
            let run = try MPIRun.run(["eval", "--model", dir.path, "--data", text.path, "--seqlen", "16", "--max-windows", "2",
                                      "--json"], ranks: 2, timeout: 120)
            #expect(run.status == 0, "\(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return "\(object?["perplexity"] ?? "none")"
        }
        let sharded = try eval(one), whole = try eval(single)
        #expect(sharded != "none" && sharded == whole, "eval of the shards: \(sharded), single file: \(whole)")

        // Killed on rank 0 while writing block 0 with 2 ranks, resumed with 3: the same bytes.
        let resumed = scratch.appendingPathComponent("resumed")
        let killed = try prune(resumed, ranks: 2, ["--max-shard-size", "30KB"], kill: ("write block 0", 0))
        #expect(killed.status != 0 && !FileManager.default.fileExists(atPath: resumed.path), "kill: \(killed.status)")
        let again = try prune(resumed, ranks: 3, ["--max-shard-size", "30KB", "--resume"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try weightFiles(resumed) == reference, "resumed shards differ")

        // --dtype bf16 with shards, then its written recipe, byte for byte.
        let bf16 = scratch.appendingPathComponent("bf16")
        let narrowed = try prune(bf16, ranks: 2, ["--max-shard-size", "20KB", "--dtype", "bf16"])
        #expect(narrowed.status == 0, "\(narrowed.stderr)")
        let recipe = try String(contentsOf: bf16.appendingPathComponent("owlprune-recipe.yaml"), encoding: .utf8)
        #expect(recipe.contains("dtype: bf16") && recipe.contains("max-shard-size: \"20KB\""), "\(recipe)")
        let again16 = scratch.appendingPathComponent("bf16-again")
        let rerun = try MPIRun.run(["prune", "--recipe", bf16.appendingPathComponent("owlprune-recipe.yaml").path,
                                    "--out", again16.path], ranks: 3, timeout: 120)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let bf16Files = try weightFiles(bf16), againFiles = try weightFiles(again16)
        #expect(bf16Files.count > 2 && bf16Files == againFiles, "the recipe did not reproduce the bf16 shards")
        let configs = try [bf16, again16].map { try Data(contentsOf: $0.appendingPathComponent("config.json")) }
        #expect(configs[0] == configs[1], "config.json differs")
        // plan takes the same recipe: the output-only keys are left out for it.
        let plan = try MPIRun.run(["plan", "--recipe", bf16.appendingPathComponent("owlprune-recipe.yaml").path], ranks: nil, timeout: 120)
        #expect(plan.status == 0, "\(plan.stderr)")
    }
}
