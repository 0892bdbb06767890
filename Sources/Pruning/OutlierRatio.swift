import Tensor

/// OWL's per-block outlier ratio in percent (docs/algorithms.md §7.1; luuyin/OWL
/// `lib/prune_all.py: check_outlier_mean`): the share of the block's Wanda metrics (all seven
/// linears pooled) strictly above `M` times their mean.
///
/// Project rule: the mean is a float64 sum of the float32 values divided by the count, the
/// threshold `M·mean` is float64, and every value is compared after exact promotion, so the
/// ratio does not depend on summation order beyond float64 rounding. The reference's float32
/// `torch.mean` can move a handful of elements across the threshold (~1e-7 in `D_l`).
public func outlierRatio(metrics: [Matrix], m: Double) -> Double {
    var sum = 0.0
    var total = 0
    for metric in metrics {
        for v in metric.elements { sum += Double(v) }
        total += metric.count
    }
    if total == 0 { return 0 }
    let threshold = m * (sum / Double(total))
    var count = 0
    for metric in metrics {
        for v in metric.elements where Double(v) > threshold { count += 1 }
    }
    // float(count) / total_params * 100, in the reference's order.
    return Double(count) / Double(total) * 100
}

/// The outlier ratio of one block from its linears' weights and Wanda statistics.
public func blockOutlierRatio(linears: [(weight: Matrix, scalerRow: [Float])], m: Double) -> Double {
    outlierRatio(metrics: linears.map { wandaMetric(weight: $0.weight, scalerRow: $0.scalerRow) }, m: m)
}
