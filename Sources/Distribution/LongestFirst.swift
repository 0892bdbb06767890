/// Longest-processing-time-first dealing, the one dealer of owlprune: a block's linears to ranks
/// (`LinearAssignment`, `FactorAssignment`, `WriteAssignment`), sweep cells and ATP β points to
/// rank groups. Items go by cost, largest first (ties by their order), each to the least-loaded
/// bin (ties to the lower index). Every rank computes the same deal alone, with no message.
public enum LongestFirst {
    /// The bin of every item, in item order.
    public static func deal(costs: [Double], bins: Int) -> [Int] {
        precondition(bins >= 1, "LongestFirst.deal needs at least one bin")
        var load = [Double](repeating: 0, count: bins)
        var bin = [Int](repeating: 0, count: costs.count)
        let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
        for item in order {
            let target = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            bin[item] = target
            load[target] += costs[item]
        }
        return bin
    }

    /// The items of every bin, each bin's in item order.
    public static func bins(costs: [Double], bins count: Int) -> [[Int]] {
        var owned = [[Int]](repeating: [], count: count)
        for (item, bin) in deal(costs: costs, bins: count).enumerated() { owned[bin].append(item) }
        return owned
    }
}
