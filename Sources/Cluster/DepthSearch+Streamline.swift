import Distribution
import MPIKit
import Model
import Pruning
import Tensor

/// LLM-Streamline on the cluster (issue 24 items 1 and 3): the score of every run start over the
/// calibration windows of the dense model, and ReplaceMe's linear map for the chosen run. Both are
/// float64 sums of per-window terms folded in window order, so the choice and the map are the same
/// bits for any rank and thread count.
extension DepthSearch {
    /// The chosen run, every start's score, and block b with its replacement applied (nil for
    /// `none`, whose block b is copied unchanged); with `layer`, the training's log.
    /// - Parameters:
    ///   - training: `layer` only: how the layer is trained.
    ///   - validation: `layer` only: the held-out windows (never among `windows`).
    ///   - journal: `layer` only: the training's resume journal (`StreamlineJournal`), if any.
    public func streamline(count: Int, replacement: StreamlineReplacement, training: StreamlineTrainingSettings? = nil,
                           validation: CalibrationWindows? = nil, journal: StreamlineJournal? = nil) throws
        -> (result: BlockRemovalResult, replaced: DecoderBlock?, training: StreamlineTrainingLog?) {
        try Self.check(count: count, method: .streamline, blocks: architecture.blockCount)
        if replacement == .layer {
            guard let training, let validation, validation.count >= 1, validation.length == windows.length else {
                preconditionFailure("streamline layer: training settings and validation windows of the calibration length are required")
            }
            try StreamlineTrainer.check(training, trainingWindows: windows.count)
        }
        let blocks = architecture.blockCount, span = count + 1
        // The whole dense model in float32 on every rank, as SLEB: each window runs through every
        // block once, its L + 1 hidden states held only while its term is computed.
        let slice = try ModelSlice.load(from: source, architecture: architecture, blocks: 0..<blocks, withEmbedding: false,
                                        withHead: false, positions: windows.length)
        let embedded = try myWindows.map(embed)
        let terms = Parallel.map(embedded.count, workers: threads) { k -> [Double] in
            var states = [embedded[k]]
            states.reserveCapacity(blocks + 1)
            for b in 0..<blocks { states.append(slice.blocks[b].forward(states[b], rope: slice.rope)) }
            return StreamlineScores.term(window: states, span: span)
        }
        let starts = blocks - span + 1
        // Every window's term on every rank (zeros elsewhere are exact), folded in window order.
        var full = [Double](repeating: 0, count: windows.count * starts)
        for (k, term) in terms.enumerated() {
            for j in 0..<starts { full[(myWindows.lowerBound + k) * starts + j] = term[j] }
        }
        if comm.size > 1 { full = try comm.allreduceSum(full) }
        var scores = StreamlineScores(blocks: blocks, span: span)
        for w in 0..<windows.count { scores.add(term: Array(full[(w * starts)..<((w + 1) * starts)]), tokens: windows.length) }
        let start = scores.best!
        if comm.rank == 0 { progress("streamline: run \(start)…\(start + count) of \(blocks) blocks scores highest") }
        var perBlock = [Double?](repeating: nil, count: blocks)
        for (j, s) in scores.scores!.enumerated() { perBlock[j] = s }
        var chosen = result(method: .streamline, removed: StreamlineReplacement.removed(start: start, count: count),
                            scores: perBlock, rounds: nil)
        chosen.run = [start, start + count]
        chosen.replacement = replacement.rawValue
        switch replacement {
        case .none: return (chosen, nil, nil)
        case .linear: return (chosen, try replaceMe(slice: slice, embedded: embedded, start: start, count: count), nil)
        case .layer:
            let (block, log) = try trainLayer(slice: slice, embedded: embedded, start: start, count: count,
                                              settings: training!, validation: validation!, journal: journal)
            return (chosen, block, log)
        }
    }

    /// Block `start` trained to map h_b to h_{b+K+1} (`StreamlineTrainer`). Each rank computes the
    /// pairs of its share of the training windows (the calibration windows) and of the held-out
    /// validation windows with the dense blocks it already holds.
    func trainLayer(slice: ModelSlice, embedded: [Matrix], start: Int, count: Int, settings: StreamlineTrainingSettings,
                    validation: CalibrationWindows, journal: StreamlineJournal?) throws -> (DecoderBlock, StreamlineTrainingLog) {
        let end = start + count + 1
        let rope = slice.rope
        // h_b and h_{b+n} (n = K + 1), the latter before the final norm when the run ends the model.
        let pair: @Sendable (Matrix) -> (input: Matrix, target: Matrix) = { embedded in
            var h = embedded
            for b in 0..<start { h = slice.blocks[b].forward(h, rope: rope) }
            var target = h
            for b in start..<end { target = slice.blocks[b].forward(target, rope: rope) }
            return (h, target)
        }
        let myPairs = Parallel.map(embedded.count, workers: threads) { pair(embedded[$0]) }
        // Every rank then holds every training pair (each window's owner broadcasts it), so a
        // step's batch is split evenly over the ranks whatever windows it draws (the trainer).
        let trainingPairs = try everyTrainingPair(myPairs, tokens: windows.length, hidden: slice.blocks[start].shape.hiddenSize)
        let myValidation = windowShare(count: validation.count, ranks: comm.size, rank: comm.rank)
        let validationEmbedded = try myValidation.map { try embed(ids: validation.window($0)) }
        let validationPairs = Parallel.map(validationEmbedded.count, workers: threads) { pair(validationEmbedded[$0]) }
        if comm.rank == 0 {
            progress("streamline: training block \(start) to stand in for blocks \(start)…\(start + count) on \(windows.count) windows, "
                     + "validating on \(validation.count) held-out windows")
        }
        let trainer = StreamlineTrainer(comm: comm, threads: threads, rope: rope, settings: settings, training: trainingPairs,
                                        trainingWindows: windows.count, validation: validationPairs,
                                        validationWindows: validation.count, tokens: windows.length, progress: progress)
        return try trainer.train(slice.blocks[start], journal: journal)
    }

    /// Every rank's pairs on every rank, in window order: each window's owner broadcasts its h_b
    /// and h_{b+n} (one window at a time, so no message outgrows MPI's counts on a large model).
    func everyTrainingPair(_ mine: [(input: Matrix, target: Matrix)], tokens: Int, hidden: Int) throws
        -> [(input: Matrix, target: Matrix)] {
        guard comm.size > 1 else { return mine }
        let share = windowShare(count: windows.count, ranks: comm.size, rank: comm.rank)
        var all: [(input: Matrix, target: Matrix)] = []
        all.reserveCapacity(windows.count)
        for w in 0..<windows.count {
            let owner = (0..<comm.size).first { windowShare(count: windows.count, ranks: comm.size, rank: $0).contains(w) }!
            var input = owner == comm.rank ? mine[w - share.lowerBound].input.elements : [Float](repeating: 0, count: tokens * hidden)
            var target = owner == comm.rank ? mine[w - share.lowerBound].target.elements : [Float](repeating: 0, count: tokens * hidden)
            try comm.broadcast(&input, root: owner)
            try comm.broadcast(&target, root: owner)
            all.append((Matrix(rows: tokens, cols: hidden, elements: input), Matrix(rows: tokens, cols: hidden, elements: target)))
        }
        return all
    }

    /// Block `start` with ReplaceMe's T folded into its down projection, T estimated from every
    /// calibration token: M its MLP output, h_{b+1} its output, h_{b+K+1} the cut's output.
    /// The float64 sums travel as a window-order chain (rank r folds its windows after those of
    /// ranks 0 … r − 1, the last rank broadcasts), so they are the one-rank left fold. A rank keeps
    /// its windows' terms (2·hidden² doubles each) until the state arrives.
    func replaceMe(slice: ModelSlice, embedded: [Matrix], start: Int, count: Int) throws -> DecoderBlock {
        let hidden = architecture.shape.hiddenSize
        let block = slice.blocks[start]
        let terms = Parallel.map(embedded.count, workers: threads) { k -> ReplaceMeEstimate.Term in
            var h = embedded[k]
            for b in 0..<start { h = slice.blocks[b].forward(h, rope: slice.rope) }
            var intermediate: Matrix?
            let cutInput = block.forward(h, rope: slice.rope) { input, x in if input == .down { intermediate = x } }
            // The same call as `forward`'s down projection: M bit for bit.
            let mlpOutput = intermediate!.linear(block.weight(.down))
            var cutOutput = cutInput
            for b in (start + 1)...(start + count) { cutOutput = slice.blocks[b].forward(cutOutput, rope: slice.rope) }
            return ReplaceMeEstimate.term(mlpOutput: mlpOutput, cutInput: cutInput, cutOutput: cutOutput)
        }
        let size = 2 * hidden * hidden
        var estimate = ReplaceMeEstimate(hidden: hidden)
        if comm.rank > 0 {
            let state = try comm.recv(Double.self, count: size, from: comm.rank - 1, tag: MessageTag.replaceMeChain)
            estimate = ReplaceMeEstimate(hidden: hidden, flattened: state, tokens: myWindows.lowerBound * windows.length)
        }
        for term in terms { estimate.add(term) }
        if comm.size > 1 {
            var final = [Double](repeating: 0, count: size)
            if comm.rank < comm.size - 1 {
                try comm.send(estimate.flattened, to: comm.rank + 1, tag: MessageTag.replaceMeChain)
            } else {
                final = estimate.flattened
            }
            try comm.broadcast(&final, root: comm.size - 1)
            estimate = ReplaceMeEstimate(hidden: hidden, flattened: final, tokens: windows.count * windows.length)
        }
        guard let t = estimate.transform() else {
            throw ClusterError.badArgument("--replacement linear: block \(start)'s MLP outputs over \(estimate.tokens) calibration tokens "
                                           + "do not determine a \(hidden)×\(hidden) map (singular MᵀM); give more --nsamples or a longer --seqlen")
        }
        var replaced = block
        replaced.weights[.down] = ReplaceMeEstimate.foldedDownProjection(block.weight(.down), transform: t)
        return replaced
    }
}
