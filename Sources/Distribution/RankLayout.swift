/// Splits blocks `0..<n` into `ranks` contiguous ranges balanced by parameter count
/// (docs/design.md §3 "Partition"). Boundary k is placed where the running parameter total first
/// reaches k/ranks of the whole, then nudged so every rank keeps at least one block; with
/// identical blocks this is the familiar floor/ceil split with the larger ranges first.
/// Embedding and head are not counted: they are not pruned, and only evaluation runs the head.
public func partition(parameterCounts: [Int], ranks: Int) throws(ClusterError) -> [Range<Int>] {
    let n = parameterCounts.count
    guard ranks >= 1, ranks <= n else { throw .moreRanksThanBlocks(ranks: ranks, blocks: n) }
    let total = parameterCounts.reduce(0, +)
    var prefix = [0]
    for c in parameterCounts { prefix.append(prefix.last! + c) }
    var bounds = [0]
    for k in 1..<ranks {
        // Integer arithmetic: the first b with prefix[b] * ranks >= k * total.
        var b = bounds.last! + 1
        while b < n && prefix[b] * ranks < k * total { b += 1 }
        b = min(b, n - (ranks - k))
        bounds.append(b)
    }
    bounds.append(n)
    return (0..<ranks).map { bounds[$0]..<bounds[$0 + 1] }
}

/// Rank `rank`'s contiguous share of `count` calibration windows in the windows split: the
/// floor/ceil split with the larger shares first, so shares are in rank order and cover
/// `0..<count` exactly (a rank may get none when there are fewer windows than ranks).
public func windowShare(count: Int, ranks: Int, rank: Int) -> Range<Int> {
    let base = count / ranks, extra = count % ranks
    let lower = rank * base + min(rank, extra)
    return lower..<(lower + base + (rank < extra ? 1 : 0))
}

/// Where everything lives, computed once per job: every rank's blocks (shard ownership in both
/// splits; the pipeline stages in the blocks split) and every rank's windows (the windows split).
public struct RankLayout: Sendable, Equatable {
    public let blockRanges: [Range<Int>]
    public let windowShares: [Range<Int>]
    /// Every rank holds each pruned block (the windows split's window-parallel pass), so every
    /// rank writes a share of each block (`WriteAssignment`) instead of its owner writing it all.
    public let spreadsBlockWrites: Bool

    public init(blocks: Int, parameterCountPerBlock: Int, windows: Int, ranks: Int,
                spreadsBlockWrites: Bool = false) throws(ClusterError) {
        blockRanges = try partition(parameterCounts: Array(repeating: parameterCountPerBlock, count: blocks), ranks: ranks)
        windowShares = (0..<ranks).map { windowShare(count: windows, ranks: ranks, rank: $0) }
        self.spreadsBlockWrites = spreadsBlockWrites
    }

    /// The rank whose shard holds block `index`.
    public func owner(ofBlock index: Int) -> Int {
        blockRanges.firstIndex { $0.contains(index) }!
    }
}
