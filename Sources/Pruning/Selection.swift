import Tensor

/// The comparison groups shared by every metric-based method. All orders are
/// `(metric ascending, index ascending)` (docs/algorithms.md §5.2, §5.3, §13.4): the references'
/// stable `torch.sort` gives the same order; their `torch.topk` for N:M leaves ties
/// unspecified, which the project fixes to "lower index first".
enum Selection {
    /// Column indices of `values` sorted by `(value, index)` ascending.
    ///
    /// Each entry becomes one UInt64 key — the float's bits mapped to an order-preserving
    /// unsigned integer in the high half, the index in the low half — so a plain integer sort
    /// gives exactly the `(value, index)` order without a comparison closure (several times
    /// faster; this runs once per row of every linear). `-0` is folded into `+0` so the two
    /// zeros tie as they do under `<`.
    static func ascendingOrder(_ values: ArraySlice<Float>) -> [Int] {
        var keys = [UInt64]()
        keys.reserveCapacity(values.count)
        var i: UInt64 = 0
        for v in values {
            keys.append(UInt64(orderedBits(v)) << 32 | i)
            i += 1
        }
        keys.sort()
        return keys.map { Int($0 & 0xFFFF_FFFF) }
    }

    /// Maps a float to a UInt32 whose unsigned order is the float order (NaNs excluded).
    @inline(__always)
    static func orderedBits(_ v: Float) -> UInt32 {
        let bits = (v == 0 ? Float(0) : v).bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    /// In every row, the `count` entries with the smallest metric (Wanda §5.2).
    ///
    /// The `(value, index)` keys of a row are distinct, so the `count` smallest form one set
    /// whatever the algorithm — the prefix `ascendingOrder(row).prefix(count)` exactly, ties
    /// included. Found per row by one radix pass (a histogram of the high `bucketBits` bits of the
    /// 32-bit order keys gives the bucket holding rank `count − 1`), a quickselect among that
    /// bucket's keys only for the value `v` at that rank, and one pass in index order that takes
    /// every key below `v` and the lowest-index keys equal to it until `count` are taken. The
    /// 64-bit-key quickselect over the whole row it replaced cost ~25 ns a weight (issue 29:
    /// 5.4 s of a llama-7b-shaped Wanda prune's 32 s).
    static func smallestPerRow(_ metric: Matrix, count: Int) -> PruningMask {
        var mask = PruningMask(rows: metric.rows, cols: metric.cols)
        let cols = metric.cols
        if count == 0 || cols == 0 { return mask }
        if count >= cols { return PruningMask(rows: metric.rows, cols: cols, pruned: [Bool](repeating: true, count: metric.rows * cols)) }
        let shift = UInt32(32 - bucketBits)
        var keys = [UInt32](repeating: 0, count: cols)
        let buckets = 1 << bucketBits
        var histogram = [Int32](repeating: 0, count: 2 * buckets)
        var bucketStore = [UInt32](repeating: 0, count: cols)
        metric.elements.withUnsafeBufferPointer { m in
            mask.pruned.withUnsafeMutableBufferPointer { out in
                keys.withUnsafeMutableBufferPointer { keys in
                    bucketStore.withUnsafeMutableBufferPointer { bucket in
                    histogram.withUnsafeMutableBufferPointer { histogram in
                        for r in 0..<metric.rows {
                            let base = r * cols
                            // Two histograms, even and odd columns, so that neighbours in one
                            // bucket (the common case) do not wait on each other's increment.
                            var lowest = Int.max, highest = 0
                            var j = 0
                            while j + 1 < cols {
                                let k0 = orderedBits(m[base + j]), k1 = orderedBits(m[base + j + 1])
                                let b0 = Int(k0 >> shift), b1 = Int(k1 >> shift)
                                keys[j] = k0
                                keys[j + 1] = k1
                                histogram[b0] += 1
                                histogram[buckets + b1] += 1
                                lowest = min(lowest, min(b0, b1))
                                highest = max(highest, max(b0, b1))
                                j += 2
                            }
                            if j < cols {
                                let key = orderedBits(m[base + j]), b = Int(key >> shift)
                                keys[j] = key
                                histogram[b] += 1
                                lowest = min(lowest, b)
                                highest = max(highest, b)
                            }
                            var b = lowest, below = 0
                            while below + Int(histogram[b] + histogram[buckets + b]) < count {
                                below += Int(histogram[b] + histogram[buckets + b])
                                b += 1
                            }
                            for i in lowest...highest {
                                histogram[i] = 0
                                histogram[buckets + i] = 0
                            }
                            // The bucket's keys, compacted without a branch (the test is a coin flip).
                            var n = 0
                            for j in 0..<cols {
                                let key = keys[j]
                                bucket[n] = key
                                n &+= Int(key >> shift) == b ? 1 : 0
                            }
                            var inBucket = UnsafeMutableBufferPointer(rebasing: bucket[0..<n])
                            let v = kthSmallestKey(&inBucket, count - 1 - below)
                            // Every key below `v`, then the keys equal to `v` in index order until
                            // `count` are taken: all of them when the row has no tie at `v`.
                            var less = 0, equal = 0
                            for key in inBucket {
                                less &+= key < v ? 1 : 0
                                equal &+= key == v ? 1 : 0
                            }
                            let take = count - below - less
                            let row = out.baseAddress! + base
                            if take == equal {
                                for j in 0..<cols { row[j] = keys[j] <= v }
                            } else {
                                for j in 0..<cols { row[j] = keys[j] < v }
                                var left = take
                                for j in 0..<cols where left > 0 && keys[j] == v {
                                    row[j] = true
                                    left -= 1
                                }
                            }
                        }
                    }
                    }
                }
            }
        }
        return mask
    }

    /// High bits of the order keys that `smallestPerRow`'s histogram buckets by: 2048 buckets, so
    /// the bucket left for the quickselect is a few percent of a row (one exponent, a quarter of
    /// its mantissas).
    static let bucketBits = 11

    /// The element at index `k` of `a` sorted ascending (`a` is permuted), by quickselect with a
    /// median-of-three pivot (it keeps sorted or constant inputs from going quadratic).
    static func kthSmallestKey<Keys: MutableCollection & RandomAccessCollection>(_ a: inout Keys, _ k: Int) -> Keys.Element
        where Keys.Element: Comparable, Keys.Index == Int {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            let x = a[lo], y = a[mid], z = a[hi]
            let pivot = max(min(x, y), min(max(x, y), z))
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { break }
        }
        return a[k]
    }

    /// In every row and every group of `m` consecutive columns, the `n` smallest (§5.3).
    /// The caller has checked `0 < n < m` and `cols % m == 0`.
    static func nOfMPerRow(_ metric: Matrix, n: Int, m: Int) -> PruningMask {
        var mask = PruningMask(rows: metric.rows, cols: metric.cols)
        for r in 0..<metric.rows {
            let row = metric.row(r)
            for g in stride(from: 0, to: metric.cols, by: m) {
                let start = row.startIndex + g
                for t in ascendingOrder(row[start..<(start + m)]).prefix(n) { mask[r, g + t] = true }
            }
        }
        return mask
    }

    /// One group per matrix, with the references' `≤ τ` rule (§4): `τ` = the element at index
    /// `count` of the values sorted ascending; every entry `≤ τ` is pruned, ties included.
    /// `count` must be below `values.count`.
    static func atOrBelowThreshold(_ values: [Float], count: Int) -> [Bool] {
        let tau = kthSmallest(values, count)
        return values.map { $0 <= tau }
    }

    /// The element at index `k` of `values` sorted ascending (the value is unique whatever the
    /// algorithm, so this equals `values.sorted()[k]` exactly). Large inputs — SparseGPT's tile
    /// thresholds over `rows × 128` scores, magnitude's per-matrix threshold — take one radix pass
    /// on the high 16 bits of the order-preserving keys to find the bucket holding rank `k`, then
    /// a quickselect inside that bucket only (the select was as costly as the OBS updates).
    static func kthSmallest(_ values: [Float], _ k: Int) -> Float {
        precondition(k >= 0 && k < values.count, "kthSmallest: rank \(k) of \(values.count)")
        var key: UInt32
        if values.count < 1 << 14 {
            var a = values.map(orderedBits)
            key = kthSmallestKey(&a, k)
        } else {
            var histogram = [Int](repeating: 0, count: 1 << 16)
            for v in values { histogram[Int(orderedBits(v) >> 16)] += 1 }
            var bucket = 0, below = 0
            while below + histogram[bucket] <= k {
                below += histogram[bucket]
                bucket += 1
            }
            var inBucket: [UInt32] = []
            inBucket.reserveCapacity(histogram[bucket])
            for v in values {
                let b = orderedBits(v)
                if Int(b >> 16) == bucket { inBucket.append(b) }
            }
            key = kthSmallestKey(&inBucket, k - below)
        }
        return Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }
}
