import ArgumentParser
import Checkpoint
import Foundation
import Pruning

/// How sparse a checkpoint is where pruning acts: the seven linears of each block, summed by
/// block and by linear kind (zeros over elements, so a big `mlp` linear weighs more than a small
/// `k_proj`), and over the whole model. Used by `inspect` and `compare`.
package struct SparsitySummary: Codable {
    package static let planFileName = "owlprune-plan.json"
    package struct Block: Codable {
        package var block: Int
        package var sparsity: Double
        package var zeros: Int
        package var elements: Int
    }

    /// Zeros over elements of every block linear.
    package var overall: Double
    package var blocks: [Block]
    /// Keyed by the HF linear name (`self_attn.q_proj`, …), listed in LinearKind order in text output.
    package var kinds: [String: Double]
    /// Every tensor's elements, and those that are not zero (floating-point tensors only).
    package var parameters: Int
    package var nonzeroParameters: Int

    package enum CodingKeys: String, CodingKey {
        case overall, blocks, kinds, parameters
        case nonzeroParameters = "nonzero_parameters"
    }

    /// From (tensor name, element count, zero fraction) triples.
    package init(tensors: [(name: String, elements: Int, zeroFraction: Double?)]) {
        var byBlock: [Int: (zeros: Int, elements: Int)] = [:]
        var byKind: [LinearKind: (zeros: Int, elements: Int)] = [:]
        var parameters = 0, zerosEverywhere = 0
        for t in tensors {
            parameters += t.elements
            let zeros = Int(((t.zeroFraction ?? 0) * Double(t.elements)).rounded())
            zerosEverywhere += zeros
            guard let (block, kind) = Self.blockLinear(t.name) else { continue }
            byBlock[block, default: (0, 0)].zeros += zeros
            byBlock[block, default: (0, 0)].elements += t.elements
            byKind[kind, default: (0, 0)].zeros += zeros
            byKind[kind, default: (0, 0)].elements += t.elements
        }
        let ratio = { (z: Int, n: Int) in n == 0 ? 0 : Double(z) / Double(n) }
        blocks = byBlock.keys.sorted().map { b in
            Block(block: b, sparsity: ratio(byBlock[b]!.zeros, byBlock[b]!.elements), zeros: byBlock[b]!.zeros,
                  elements: byBlock[b]!.elements)
        }
        kinds = Dictionary(uniqueKeysWithValues: byKind.map { ($0.key.rawValue, ratio($0.value.zeros, $0.value.elements)) })
        overall = ratio(blocks.reduce(0) { $0 + $1.zeros }, blocks.reduce(0) { $0 + $1.elements })
        self.parameters = parameters
        nonzeroParameters = parameters - zerosEverywhere
    }

    /// Reads every tensor's zero fraction (a pass over the weights).
    package init(directory dir: CheckpointDirectory) throws {
        self.init(tensors: try dir.tensorNames.map { name in
            let info = try dir.info(name)
            let zeros = info.dtype.isFloatConvertible ? try dir.shard(containing: name).zeroFraction(name) : nil
            return (name, info.shape.reduce(1, *), zeros)
        })
    }

    /// `model.layers.3.mlp.up_proj.weight` → (3, .up).
    package static func blockLinear(_ name: String) -> (Int, LinearKind)? {
        let prefix = "model.layers."
        guard name.hasPrefix(prefix), name.hasSuffix(".weight") else { return nil }
        let rest = name.dropFirst(prefix.count).dropLast(".weight".count)
        guard let dot = rest.firstIndex(of: "."), let block = Int(rest[..<dot]),
              let kind = LinearKind(rawValue: String(rest[rest.index(after: dot)...])) else { return nil }
        return (block, kind)
    }

    package func textLines() -> [String] {
        var lines = [String(format: "sparsity of the block linears: %.4f   parameters %d, nonzero %d", overall, parameters, nonzeroParameters)]
        lines.append("per kind: " + LinearKind.allCases.compactMap { k in
            kinds[k.rawValue].map { String(format: "%@ %.4f", k.shortName, $0) }
        }.joined(separator: "  "))
        lines.append("block  sparsity  (│ marks the overall sparsity)")
        let target = Int(overall * Double(PlanTable.barWidth))
        for b in blocks { lines.append(String(format: "%5d  %8.4f  ", b.block, b.sparsity) + PlanTable.bar(b.sparsity, target: target)) }
        return lines
    }

    /// The plan that made a pruned directory, if it carries one.
    /// Absent is nil; present but unreadable is an error naming the file.
    package static func plan(in directory: URL) throws -> SparsityPlan? {
        let url = directory.appendingPathComponent(planFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(SparsityPlan.self, from: Data(contentsOf: url))
        } catch {
            throw ValidationError("\(url.path): not a readable owlprune plan (\(error.localizedDescription))")
        }
    }
}
