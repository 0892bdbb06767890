import Cluster
import Distribution
import Foundation
import MPIKit
import Model

/// Memory before work for `eval` (issue 10 item 2), as `checkPrune` does for `prune`: before the
/// text is tokenized or a block is loaded, each rank estimates what it will hold and refuses with
/// one line naming the flag to change. A rank holds its blocks in float32 (the slice of
/// `ModelSlice`), the embedding on the first rank and the head (plus final norm) on the last, one
/// window's hidden states and forward buffers, the last rank one window's logits (seqlen ×
/// vocabulary, twice: logits and their softmax), and rank 0 the text and its token ids (at most
/// one token per byte, 8 bytes each).
extension MemoryCheck {
    package static func checkEval(architecture: Architecture, comm: Communicator, seqlen: Int, textBytes: Int, maxMemory: Int?) throws {
        let shape = architecture.shape
        let ranges = try partition(parameterCounts: Array(repeating: shape.parameterCount, count: architecture.blockCount),
                                   ranks: comm.size)
        let f32 = 4.0
        let blocks = Double(ranges[comm.rank].count) * Double(shape.parameterCount) * f32
        let table = Double(architecture.vocabularySize) * Double(shape.hiddenSize) * f32
        let tables = (comm.rank == 0 ? table : 0) + (comm.rank == comm.size - 1 ? table : 0)
        let width = Double(6 * shape.hiddenSize + 3 * shape.intermediateSize)
        let activations = Double(seqlen) * width * f32 + Double(seqlen) * Double(seqlen) * Double(shape.heads) * f32
        let logits = comm.rank == comm.size - 1 ? 2 * Double(seqlen) * Double(architecture.vocabularySize) * f32 : 0
        let text = comm.rank == 0 ? Double(textBytes) * 9 : 0
        let ranksHere = try comm.ranksOnThisNode()
        let needed = (blocks + tables + activations + logits + text) * Double(ranksHere)
        let limit: (bytes: Int, source: String)? = maxMemory.map { ($0, "--max-memory") } ?? available()
        guard let limit, needed > Double(limit.bytes) else { return }
        let remedy = text >= blocks + tables && text >= logits ? "evaluate a smaller --data file"
            : logits + activations >= blocks + tables ? "lower --seqlen" : "run more ranks on more nodes"
        throw EvalMemoryError.exceeds(needed: needed, ranks: ranksHere, weights: blocks + tables, windows: activations + logits,
                                      text: text, seqlen: seqlen, available: Double(limit.bytes), source: limit.source, remedy: remedy)
    }
}

package enum EvalMemoryError: Error, LocalizedError {
    case exceeds(needed: Double, ranks: Int, weights: Double, windows: Double, text: Double, seqlen: Int,
                 available: Double, source: String, remedy: String)

    package var errorDescription: String? {
        switch self {
        case let .exceeds(needed, ranks, weights, windows, text, seqlen, available, source, remedy):
            func gib(_ b: Double) -> String { MemoryCheck.format(bytes: b) }
            return "eval on this node needs about \(gib(needed)) (\(ranks) rank\(ranks == 1 ? "" : "s") × \(gib(needed / Double(ranks))): "
                + "\(gib(weights)) of weights, \(gib(windows)) for a window of --seqlen \(seqlen), \(gib(text)) of text and token ids) "
                + "but \(gib(available)) is available (\(source)); \(remedy), or pass --max-memory to override"
        }
    }
}
