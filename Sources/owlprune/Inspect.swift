import OwlPruneKit
import ArgumentParser
import Checkpoint
import Diagnostics
import Foundation
import Pruning

extension OwlPrune {
    /// `owlprune inspect`: what a checkpoint holds and how sparse each tensor is — the quickest check
    /// that a pruned output has the planned sparsity.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tensors, dtypes, shapes and the fraction of zeros per tensor.")

        @Argument(help: "A Hugging Face checkpoint directory or a .gguf file.")
        var path: String

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        struct Row: Codable {
            var name: String
            var dtype: String
            var shape: [Int]
            var zeroFraction: Double?
            enum CodingKeys: String, CodingKey { case name, dtype, shape, zeroFraction = "zero_fraction" }
        }

        func run() throws {
            let url = URL(fileURLWithPath: path)
            let rows = path.hasSuffix(".gguf") ? try ggufRows(url) : try directoryRows(url)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let doc = ["path": path]
                var text = String(decoding: try encoder.encode(rows), as: UTF8.self)
                text = "{\"path\":\(String(decoding: try encoder.encode(doc["path"]!), as: UTF8.self)),\"tensors\":\(text)"
                if let summary = summary(rows) { text += ",\"summary\":" + String(decoding: try encoder.encode(summary), as: UTF8.self) }
                if let plan = try plan() { text += ",\"plan\":" + String(decoding: try plan.canonicalJSON(), as: UTF8.self) }
                printResult(text + "}")
                return
            }
            // Names come from the file: escaped and cut, so a crafted name cannot forge a line.
            let names = rows.map { printableValue($0.name) }
            let width = names.map(\.count).max() ?? 0
            for (r, shown) in zip(rows, names) {
                let name = shown.padding(toLength: width, withPad: " ", startingAt: 0)
                let zeros = r.zeroFraction.map { String(format: "%6.2f%% zeros", 100 * $0) } ?? ""
                printResult("\(name)  \(printableValue(r.dtype, limit: 16).padding(toLength: 5, withPad: " ", startingAt: 0))  \(r.shape)  \(zeros)")
            }
            printResult("\(rows.count) tensors")
            if let summary = summary(rows) { summary.textLines().forEach { printResult($0) } }
            if let plan = try plan() {
                printResult("plan (\(SparsitySummary.planFileName)):")
                printResult(PlanTable(plan: plan).render())
            }
        }

        /// Block and kind sparsity of a directory (a GGUF's zeros are not counted: quantized blocks).
        private func summary(_ rows: [Row]) -> SparsitySummary? {
            guard !path.hasSuffix(".gguf") else { return nil }
            return SparsitySummary(tensors: rows.map { ($0.name, $0.shape.reduce(1, *), $0.zeroFraction) })
        }

        private func plan() throws -> SparsityPlan? {
            path.hasSuffix(".gguf") ? nil : try SparsitySummary.plan(in: URL(fileURLWithPath: path))
        }

        private func directoryRows(_ url: URL) throws -> [Row] {
            let dir = try CheckpointDirectory(url: url)
            return try dir.tensorNames.map { name in
                let info = try dir.info(name)
                let zeros = info.dtype.isFloatConvertible ? try dir.shard(containing: name).zeroFraction(name) : nil
                return Row(name: name, dtype: info.dtype.rawValue, shape: info.shape, zeroFraction: zeros)
            }
        }

        private func ggufRows(_ url: URL) throws -> [Row] {
            let file = try GGUFFile(url: url)
            return file.tensors.map { t in
                Row(name: t.name, dtype: t.typeName, shape: t.dims.reversed().map { Int($0) }, zeroFraction: nil)
            }
        }
    }
}
