import Distribution
import MPIKit
import Model
import Pruning
import Tensor

/// `--split blocks` with sequential propagation: each rank owns contiguous blocks and holds one
/// of them at a time; block i is calibrated on the outputs of the already-pruned blocks before
/// it (the references' order), so ranks take turns — the last block of a rank streams its
/// pruned outputs to the next rank. Memory is one block plus all windows' activations; time does
/// not shrink with ranks (that is the windows split's job). OWL's phase 1 is the same walk over
/// the dense model, one block resident at a time.
struct SequentialBlocksStrategy: PruneStrategy {
    mutating func scores(_ run: PruneRun, planOnly: Bool) throws -> BlockScores? {
        guard let scorer = run.configuration.blockScorer else { return nil }
        return .own(try denseRatios(run, scorer: scorer))
    }

    mutating func prune(_ run: PruneRun, plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        if run.configuration.needsActivations {
            try pruneSequentially(run, plan: plan, sink: sink)
        } else {
            try run.pruneWeightsOnly(plan: plan, sink: sink)
        }
    }

    /// The inputs of this rank's first block for every window: embeddings on rank 0, otherwise
    /// received from the previous rank.
    private func firstInputs(_ run: PruneRun, stream: WindowStream) throws -> [Matrix] {
        if run.isFirst { return try (0..<run.windows.count).map(run.embed) }
        let t0 = Communicator.wallTime
        defer { run.pipelineTimings.idleSeconds += Communicator.wallTime - t0 }
        let pending = try (0..<run.windows.count).map { try stream.receive($0) }
        return try pending.map { try $0.wait() }
    }

    private func send(_ run: PruneRun, _ stream: inout WindowStream, _ w: Int, _ x: Matrix) throws {
        run.pipelineTimings.idleSeconds += try stream.send(w, x)
        run.pipelineTimings.bytesSent += x.count * 4
    }

    /// The allocation's block scores (OWL outlier ratios, DLP scores) from dense activations.
    private func denseRatios(_ run: PruneRun, scorer: BlockScorer) throws -> [Double] {
        let start = Communicator.wallTime, idleBefore = run.pipelineTimings.idleSeconds
        defer { run.pipelineTimings.busySeconds += (Communicator.wallTime - start) - (run.pipelineTimings.idleSeconds - idleBefore) }
        var stream = WindowStream(comm: run.comm, rowsPerWindow: run.windows.length, width: run.width, channel: .dense)
        var inputs = try firstInputs(run, stream: stream)
        var ratios: [Double] = []
        let progress = run.relay(phase: "statistics", units: run.architecture.blockCount,
                                 tokensPerUnit: run.windows.count * run.windows.length, passes: run.blockPasses, pass: 0)
        for index in run.blockRange {
            let block = try run.load(index)
            var stats = BlockStatistics(shape: block.shape, collecting: [])
            let lastOwn = index == run.blockRange.upperBound - 1
            let needOutputs = !(lastOwn && run.isLast), rope = run.rope
            for chunk in run.chunks(inputs.count) {
                let batch = chunk.map { inputs[$0] }
                let results = Parallel.map(batch.count, workers: run.threads) { k -> ([(LinearInput, Matrix)], Matrix?) in
                    var observed: [(LinearInput, Matrix)] = []
                    if needOutputs {
                        let out = block.forward(batch[k], rope: rope) { observed.append(($0, $1)) }
                        return (observed, out)
                    }
                    block.observeInputs(batch[k], rope: rope) { observed.append(($0, $1)) }
                    return (observed, nil)
                }
                for (w, (observed, output)) in zip(chunk, results) {
                    for (input, x) in observed { stats.add(input, window: x) }
                    if let output {
                        inputs[w] = output
                        if lastOwn { try send(run, &stream, w, output) }
                    }
                }
            }
            ratios.append(scorer.score(of: block, statistics: stats))
            try progress.finished(index)
        }
        run.pipelineTimings.idleSeconds += try stream.drain()
        try progress.finish()
        return ratios
    }

    private func pruneSequentially(_ run: PruneRun, plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        let start = Communicator.wallTime, idleBefore = run.pipelineTimings.idleSeconds
        defer { run.pipelineTimings.busySeconds += (Communicator.wallTime - start) - (run.pipelineTimings.idleSeconds - idleBefore) }
        var stream = WindowStream(comm: run.comm, rowsPerWindow: run.windows.length, width: run.width, channel: .pruned)
        var inputs = try firstInputs(run, stream: stream)
        let progress = run.relay(phase: "prune", units: run.architecture.blockCount,
                                 tokensPerUnit: run.windows.count * run.windows.length,
                                 passes: run.blockPasses, pass: run.blockPasses - 1)
        for index in run.blockRange {
            var block = try run.load(index)
            var stats = BlockStatistics(shape: block.shape, collecting: run.configuration.statisticKinds)
            if run.journaled(index, dense: block) == nil { gatherStatistics(run, block, inputs: inputs, into: &stats) }
            try run.prune(&block, statistics: stats, plan: plan)
            try sink(block)
            try progress.finished(index)
            let lastOwn = index == run.blockRange.upperBound - 1
            if lastOwn && run.isLast { break }  // nothing downstream needs the model's final hidden states
            let pruned = block, rope = run.rope
            for chunk in run.chunks(inputs.count) {
                let batch = chunk.map { inputs[$0] }
                let outputs = Parallel.map(batch.count, workers: run.threads) { pruned.forward(batch[$0], rope: rope) }
                for (w, output) in zip(chunk, outputs) {
                    inputs[w] = output
                    if lastOwn { try send(run, &stream, w, output) }
                }
            }
        }
        run.pipelineTimings.idleSeconds += try stream.drain()
        try progress.finish()
    }

    /// The dense block's statistics over all windows (docs/algorithms.md §3: window order).
    private func gatherStatistics(_ run: PruneRun, _ block: DecoderBlock, inputs: [Matrix], into stats: inout BlockStatistics) {
        let rope = run.rope
        for chunk in run.chunks(inputs.count) {
            let batch = chunk.map { inputs[$0] }
            let kinds = stats.kinds
            let terms = Parallel.map(batch.count, workers: run.threads) { k -> BlockStatistics.Term in
                var observed: [(LinearInput, Matrix)] = []
                block.observeInputs(batch[k], rope: rope) { observed.append(($0, $1)) }
                return BlockStatistics.term(observed: observed, index: chunk.lowerBound + k, collecting: kinds)
            }
            // Terms were computed in parallel; folding them in window order is exactly `add`.
            for term in terms { stats.fold(term) }
        }
    }
}
