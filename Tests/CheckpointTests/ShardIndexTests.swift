import Foundation
import Testing
import Tensor
@testable import Checkpoint

/// The index file and the directory reader built on it, in the manner of mlx-swift-lm
/// `Tests/MLXLMTests/LoadWeightsTests.swift`: temporary directories with hand-written shards.
@Suite struct ShardIndexTests {
    static let config = #"{"model_type": "llama", "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2,"#
        + #" "num_attention_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 16, "vocab_size": 10}"#

    static func writeShard(_ url: URL, _ tensors: [(String, Matrix)]) throws {
        let writer = try SafetensorsWriter(url: url, entries: tensors.map { .init(name: $0.0, dtype: .f32, shape: [$0.1.rows, $0.1.cols]) })
        for (name, m) in tensors { try writer.write(name, m) }
        try writer.finish()
    }

    /// A two-block checkpoint: block 0 and the embedding in shard 1, block 1 and the norm in shard 2.
    static func makeShardedDirectory() throws -> (URL, ShardIndex) {
        let dir = try TestFiles.makeTemporaryDirectory()
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        let s1 = ShardIndex.shardFileName(index: 1, count: 2), s2 = ShardIndex.shardFileName(index: 2, count: 2)
        try writeShard(dir.appendingPathComponent(s1), [
            ("model.embed_tokens.weight", Matrix(rows: 10, cols: 4, repeating: 1)),
            ("model.layers.0.mlp.up_proj.weight", Matrix(rows: 8, cols: 4, repeating: 2)),
        ])
        try writeShard(dir.appendingPathComponent(s2), [
            ("model.layers.1.mlp.up_proj.weight", Matrix(rows: 8, cols: 4, repeating: 3)),
            ("model.norm.weight", Matrix(rows: 1, cols: 4, repeating: 4)),
        ])
        let index = ShardIndex(totalSize: (40 + 32 + 32 + 4) * 4, weightMap: [
            "model.embed_tokens.weight": s1, "model.layers.0.mlp.up_proj.weight": s1,
            "model.layers.1.mlp.up_proj.weight": s2, "model.norm.weight": s2,
        ])
        try index.write(to: dir.appendingPathComponent(ShardIndex.fileName))
        return (dir, index)
    }

    @Test func shardFileNamesFollowTransformers() {
        #expect(ShardIndex.shardFileName(index: 1, count: 4) == "model-00001-of-00004.safetensors")
        #expect(ShardIndex.shardFileName(index: 12, count: 123) == "model-00012-of-00123.safetensors")
    }

    @Test func indexRoundTripsAndReadsTransformersText() throws {
        let (dir, index) = try Self.makeShardedDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent(ShardIndex.fileName)
        #expect(try ShardIndex(contentsOf: url) == index)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(#""total_size" : 432"#))

        // As transformers writes it (json.dumps indent=2), with a float total and extra metadata.
        let hf = #"{"metadata": {"total_size": 432.0, "total_parameters": 108}, "weight_map": {"a": "model-00001-of-00001.safetensors"}}"#
        try Data(hf.utf8).write(to: url)
        #expect(try ShardIndex(contentsOf: url) == ShardIndex(totalSize: 432, weightMap: ["a": "model-00001-of-00001.safetensors"]))
        try Data(#"{"weight_map": {}}"#.utf8).write(to: url)
        let error = #expect(throws: CheckpointError.self) { try ShardIndex(contentsOf: url) }
        #expect(error?.localizedDescription == "model.safetensors.index.json: missing metadata.total_size")
    }

    @Test func shardedDirectoryOpensOnlyTheShardsItNeeds() throws {
        let (dir, _) = try Self.makeShardedDirectory()
        defer { TestFiles.remove(dir) }
        let checkpoint = try CheckpointDirectory(url: dir)
        #expect(checkpoint.config.hiddenSize == 4)
        #expect(checkpoint.tensorNames == ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight",
                                           "model.layers.1.mlp.up_proj.weight", "model.norm.weight"])
        #expect(checkpoint.openedShardFileNames.isEmpty)
        #expect(checkpoint.contains("model.norm.weight") && !checkpoint.contains("lm_head.weight"))

        #expect(try checkpoint.matrix("model.layers.1.mlp.up_proj.weight") == Matrix(rows: 8, cols: 4, repeating: 3))
        #expect(checkpoint.openedShardFileNames == ["model-00002-of-00002.safetensors"])
        #expect(try checkpoint.dtype("model.norm.weight") == .f32)
        #expect(try checkpoint.matrix("model.norm.weight") == Matrix(rows: 1, cols: 4, repeating: 4))
        #expect(checkpoint.openedShardFileNames == ["model-00002-of-00002.safetensors"])

        try checkpoint.validateAllShards()
        #expect(checkpoint.openedShardFileNames.count == 2)
        let missing = #expect(throws: CheckpointError.self) { try checkpoint.matrix("lm_head.weight") }
        #expect(missing?.localizedDescription.contains("'lm_head.weight'") == true)
    }

    @Test func missingShardIsReportedWhenOpening() throws {
        let (dir, _) = try Self.makeShardedDirectory()
        defer { TestFiles.remove(dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        let error = #expect(throws: CheckpointError.self) { try CheckpointDirectory(url: dir) }
        #expect(error?.localizedDescription == "model.safetensors.index.json: shard 'model-00001-of-00002.safetensors' does not exist")
    }

    @Test func tensorAbsentFromItsShardIsReported() throws {
        let (dir, index) = try Self.makeShardedDirectory()
        defer { TestFiles.remove(dir) }
        var wrong = index
        wrong.weightMap["model.layers.1.mlp.down_proj.weight"] = "model-00002-of-00002.safetensors"
        try wrong.write(to: dir.appendingPathComponent(ShardIndex.fileName))
        let checkpoint = try CheckpointDirectory(url: dir)
        let error = #expect(throws: CheckpointError.self) { try checkpoint.matrix("model.norm.weight") }
        #expect(error?.localizedDescription == "model.safetensors.index.json: tensor 'model.layers.1.mlp.down_proj.weight' "
            + "is mapped to shard 'model-00002-of-00002.safetensors', which does not contain it")
        // The other shard is still usable: its entries are all present.
        #expect(try checkpoint.matrix("model.embed_tokens.weight").rows == 10)
    }

    @Test func singleFileDirectory() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        try Data(Self.config.utf8).write(to: dir.appendingPathComponent("config.json"))
        try Self.writeShard(dir.appendingPathComponent("model.safetensors"), [("b", Matrix([[1, 2]])), ("a", Matrix([[3]]))])
        let checkpoint = try CheckpointDirectory(url: dir)
        #expect(checkpoint.index == nil)
        #expect(checkpoint.tensorNames == ["a", "b"])
        #expect(try checkpoint.matrix("b") == Matrix([[1, 2]]))
        #expect(checkpoint.shardFileName(of: "a") == "model.safetensors")
    }
}
