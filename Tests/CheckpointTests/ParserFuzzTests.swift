import Diagnostics
import Foundation
import Tensor
import Testing
import TestSupport
@testable import Checkpoint

/// In-process fuzzing of the Checkpoint readers (issue 10 item 7): a fixed number of seeded
/// mutants of a valid file per parser, each either accepted (and then read through: every tensor
/// converted, the config's sizes checked) or rejected with a `CheckpointError` whose message is
/// one printable line. A trap anywhere kills the test process, which fails the run. The counts
/// keep each parser to about a second on one core; the seed and the mutant index rebuild any
/// failure.
@Suite struct ParserFuzzTests {
    static let mutants = 2000

    /// Mutants are written to /dev/shm when it exists: a memory file system keeps thousands of
    /// small writes out of the disk's way.
    static func scratch() throws -> URL {
        guard FileManager.default.fileExists(atPath: "/dev/shm") else { return try TestFiles.makeTemporaryDirectory() }
        let dir = URL(fileURLWithPath: "/dev/shm/owlprune-fuzz-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `mutants` mutants of `seed` through `parse` and checks every rejection.
    static func fuzz(_ label: String, seed: Data, json: Bool, seedValue: UInt64, _ parse: (Data) throws -> Void) throws {
        var mutator = Mutator(seed: seedValue)
        var rejected = 0
        var bad: [String] = []
        let start = Date()
        for index in 0..<mutants {
            let mutant = mutator.mutate(seed, json: json)
            do {
                try parse(mutant)
            } catch let error as CheckpointError {
                rejected += 1
                let message = error.localizedDescription
                if !isPrintableLine(message) { bad.append("mutant \(index): not one printable line: \(message.debugDescription)") }
            } catch {
                bad.append("mutant \(index): untyped error \(type(of: error)): \(error)")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz \(label): \(mutants) mutants (seed \(seedValue)), \(rejected) rejected, \(String(format: "%.2f", seconds)) s")
        #expect(bad.isEmpty, "\(label): \(bad.prefix(5).joined(separator: "; "))")
        #expect(rejected > mutants / 10, "\(label): only \(rejected) of \(mutants) mutants were rejected; the mutator is too gentle")
        #expect(rejected < mutants, "\(label): every mutant was rejected; the seed itself may be invalid")
    }

    @Test func safetensorsFiles() throws {
        let dir = try Self.scratch()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("seed.safetensors")
        let writer = try SafetensorsWriter(url: url, entries: [
            .init(name: "model.layers.0.self_attn.q_proj.weight", dtype: .bf16, shape: [4, 8]),
            .init(name: "model.norm.weight", dtype: .f32, shape: [8]),
            .init(name: "e", dtype: .f16, shape: [0, 3]),
            .init(name: "ids", dtype: .i32, shape: [2]),
        ], metadata: ["format": "pt"])
        try writer.write("model.layers.0.self_attn.q_proj.weight", Matrix(rows: 4, cols: 8, elements: (0..<32).map { Float($0) / 8 }))
        try writer.write("model.norm.weight", Matrix(rows: 1, cols: 8, repeating: 1))
        try writer.write("e", Matrix(rows: 0, cols: 3))
        try writer.write("ids", rawBytes: Data(count: 8))
        try writer.finish()
        let seed = try Data(contentsOf: url)
        let mutantURL = dir.appendingPathComponent("model.safetensors")
        try Self.fuzz("safetensors", seed: seed, json: false, seedValue: 10) { bytes in
            try bytes.write(to: mutantURL)
            let file = try SafetensorsFile(url: mutantURL)
            for name in file.tensorNames {
                let info = file.info(name)!
                _ = try file.zeroFraction(name)
                if info.dtype.isFloatConvertible { _ = try file.matrix(name) }
                if info.dtype.isFloatConvertible && info.shape.count == 2 && info.shape[0] > 0 { _ = try file.rows(name, [0, info.shape[0] - 1]) }
            }
        }
    }

    /// The safetensors header JSON alone, with structured edits (duplicate keys, extreme
    /// numbers, hostile strings), so the JSON-level checks see many more near-valid headers.
    @Test func safetensorsHeaders() throws {
        let header = Data(#"""
            {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
             "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]}, "c": {"dtype": "I64", "shape": [], "data_offsets": [32, 40]}}
            """#.utf8)
        try Self.fuzz("safetensors header", seed: header, json: true, seedValue: 11) { json in
            let parsed = try SafetensorsHeader(json: json, dataBytes: 40, file: "model.safetensors")
            for t in parsed.tensors { _ = t.elementCount }
        }
    }

    @Test func ggufFiles() throws {
        let dir = try Self.scratch()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("tiny.gguf")
        let seed = TinyLlamaGGUF(blocks: 1).bytes()
        try Self.fuzz("gguf", seed: seed, json: false, seedValue: 12) { bytes in
            // The header parse is the same code GGUFFile runs; only files it accepts are written
            // out and read through, which keeps the run to a few seconds.
            _ = try bytes.withUnsafeBytes { try GGUFHeader(bytes: $0, file: "tiny.gguf") }
            try bytes.write(to: url)
            let file = try GGUFFile(url: url)
            for t in file.tensors where GGUFDequant.supports(t.type) {
                _ = (t.rows, t.cols, t.elementCount)
                _ = try file.dequantize(t.name)
            }
            let checkpoint = try GGUFCheckpoint(file: file)
            try checkpoint.checkConsistency()
            for name in checkpoint.tensorNames { _ = try checkpoint.matrix(name) }
        }
    }

    @Test func configJSON() throws {
        let seed = Data(#"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "hidden_size": 576,
             "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
             "rms_norm_eps": 1e-05, "rope_theta": 100000, "max_position_embeddings": 8192, "vocab_size": 49152,
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": 0, "eos_token_id": [0, 2],
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192}}
            """#.utf8)
        try Self.fuzz("config.json", seed: seed, json: true, seedValue: 13) { json in
            let config = try ModelConfig(jsonData: json)
            try config.checkSizes(file: "config.json")
        }
    }
}
