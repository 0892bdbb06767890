import OwlPruneKit
import ArgumentParser
import Checkpoint
import Foundation
import Tokenizer

extension OwlPrune {
    /// `owlprune convert`: a GGUF file to a Hugging Face directory that transformers loads as
    /// LlamaForCausalLM. The tokenizer is rebuilt from the GGUF vocabulary with the pre-tokenizer
    /// `tokenizer.ggml.pre` names — transformers' own GGUF converter ignores that key and splits
    /// digits wrongly for SmolLM2 (see Tests/Fixtures/smollm2/README.md).
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a GGUF checkpoint to a Hugging Face directory, or a directory to GGUF (--to gguf).")

        @Argument(help: "The .gguf file, or with --to gguf a Hugging Face directory.") var gguf: String
        @Option(help: "Output directory (created atomically), or with --to gguf the .gguf file.") var out: String
        @Option(help: "hf (default for a .gguf input) or gguf (default for a directory).") var to: Target?
        @Option(help: "Weight dtype: f32, bf16 or f16; for --to gguf also q8_0 (default f32, f16 for gguf).") var dtype: ConvertDType?
        @Option(help: "tokenizer.ggml.pre for --to gguf when owlprune cannot identify the tokenizer (e.g. smollm, llama-bpe).")
        var ggufPre: String?
        @Flag(help: "Replace an existing output.") var force = false

        /// `--to`.
        enum Target: String, CaseIterable, ExpressibleByArgument { case hf, gguf }

        /// `--dtype`: a weight dtype, or for GGUF also llama.cpp's Q8_0.
        enum ConvertDType: String, CaseIterable, ExpressibleByArgument {
            case f32, bf16, f16, q8_0

            /// Nil for q8_0, which only GGUF holds.
            var weight: DType? { DType(rawValue: rawValue) }

            var ggml: GGMLType {
                switch self {
                case .f32: .f32
                case .bf16: .bf16
                case .f16: .f16
                case .q8_0: .q8_0
                }
            }
        }

        /// Without --to: a directory goes to GGUF, a file to a directory.
        var toGGUF: Bool {
            var isDirectory: ObjCBool = false
            let directory = FileManager.default.fileExists(atPath: gguf, isDirectory: &isDirectory) && isDirectory.boolValue
            return (to ?? (directory ? .gguf : .hf)) == .gguf
        }
        @Flag(help: "Print one JSON object on stdout.") var json = false

        /// The dtype of a Hugging Face output (validated: not q8_0).
        var weightDType: DType { (dtype ?? .f32).weight ?? .f32 }

        func validate() throws {

            guard !ParseOnly.active else { return }
            if !toGGUF, let dtype, dtype.weight == nil {
                throw ValidationError("--dtype \(dtype.rawValue): only with --to gguf; a Hugging Face directory holds f32, bf16 or f16")
            }
        }

        func run() throws {
            if toGGUF {
                let export = GGUFExport(input: URL(fileURLWithPath: gguf), output: URL(fileURLWithPath: out),
                                        type: (dtype ?? .f16).ggml, force: force, pre: ggufPre)
                let (count, fallbacks) = try export.run()
                if !fallbacks.isEmpty { progress("note: \(fallbacks.count) tensors kept in F16 (rows not a multiple of 32): \(fallbacks.joined(separator: ", "))") }
                printResult("converted \(gguf) → \(out) (\(count) tensors, \((dtype ?? .f16).rawValue), GGUF v3)")
                return
            }
            let source = try GGUFCheckpoint(url: URL(fileURLWithPath: gguf))
            try source.checkConsistency()
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: out), force: force,
                                             runID: StagedDirectory.newRunID(),
                                             inputs: [("the input", URL(fileURLWithPath: gguf))])
            do {
                try staged.create()
                try write(source, into: staged)
                try staged.commit()
            } catch {
                staged.discard()
                throw error
            }
            if json {
                try JSONOutput.print(["input": gguf, "out": out, "tensors": source.tensorNames.count, "dtype": weightDType.rawValue])
            } else {
                printResult("converted \(gguf) → \(out) (\(source.tensorNames.count) tensors, \(weightDType.rawValue))")
            }
        }

        private func write(_ source: GGUFCheckpoint, into dir: StagedDirectory) throws {
            var config = source.config
            config.torchDtype = weightDType.torchName
            try AtomicFile.write(config.jsonData(), to: dir.file("config.json"))
            try tokenizerFiles(source.file, into: dir)
            try AtomicFile.write(generationConfig(config), to: dir.file("generation_config.json"))

            let type = weightDType.storage
            // HF shapes are GGUF's dims reversed (ne[0] is the innermost, i.e. the column count).
            let entries = source.tensorNames.map { name in
                let info = source.file.tensor(TensorName.ggufName(fromHF: name)!)!
                return SafetensorsWriter.Entry(name: name, dtype: type, shape: info.dims.reversed().map { Int($0) })
            }
            let writer = try SafetensorsWriter(url: dir.file("model.safetensors"), entries: entries, metadata: ["format": "pt"])
            for name in source.tensorNames { try writer.write(name, try source.matrix(name)) }
            try writer.finish()
        }

        private func tokenizerFiles(_ file: GGUFFile, into dir: StagedDirectory) throws {
            let model = try file.string(GGUFKey.tokenizerModel)
            let optionalInt = { (key: String) -> Int? in file.metadata[key] == nil ? nil : try? file.int(key) }
            let (json, config) = try TokenizerJSONBuilder.build(
                ggufModel: model,
                pre: file.metadata[GGUFKey.tokenizerPre] == nil ? nil : try file.string(GGUFKey.tokenizerPre),
                tokens: try file.strings(GGUFKey.tokens),
                tokenTypes: file.metadata[GGUFKey.tokenTypes] == nil ? [] : try file.ints(GGUFKey.tokenTypes),
                merges: file.metadata[GGUFKey.merges] == nil ? [] : try file.strings(GGUFKey.merges),
                scores: file.metadata[GGUFKey.scores] == nil ? nil : try file.floats(GGUFKey.scores),
                bosID: optionalInt(GGUFKey.bosTokenId), eosID: optionalInt(GGUFKey.eosTokenId),
                unkID: optionalInt(GGUFKey.unknownTokenId), padID: optionalInt(GGUFKey.paddingTokenId),
                addBOS: file.bool(GGUFKey.addBosToken) ?? (model == "llama"),
                addEOS: file.bool(GGUFKey.addEosToken) ?? false,
                chatTemplate: file.metadata[GGUFKey.chatTemplate] == nil ? nil : try file.string(GGUFKey.chatTemplate))
            try AtomicFile.write(json, to: dir.file("tokenizer.json"))
            try AtomicFile.write(config, to: dir.file("tokenizer_config.json"))
        }

        private func generationConfig(_ config: ModelConfig) -> Data {
            var object: [String: Any] = ["_from_model_config": true]
            if let bos = config.bosTokenIds?.first { object["bos_token_id"] = bos }
            if let eos = config.eosTokenIds { object["eos_token_id"] = eos.count == 1 ? eos[0] as Any : eos as Any }
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
        }
    }
}
