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
    /// whatever the algorithm: a quickselect finds the key at rank `count − 1` and every key at
    /// or below it is pruned — the prefix `ascendingOrder(row).prefix(count)` exactly, ties
    /// included, in expected O(cols) instead of a full sort per row (the sort was 8.5% of a
    /// SmolLM2 Wanda prune, issue 11).
    static func smallestPerRow(_ metric: Matrix, count: Int) -> PruningMask {
        var mask = PruningMask(rows: metric.rows, cols: metric.cols)
        let cols = metric.cols
        if count == 0 || cols == 0 { return mask }
        var keys = [UInt64](repeating: 0, count: cols)
        var scratch = [UInt64](repeating: 0, count: cols)
        metric.elements.withUnsafeBufferPointer { m in
            mask.pruned.withUnsafeMutableBufferPointer { out in
                for r in 0..<metric.rows {
                    let base = r * cols
                    if count >= cols {
                        for j in 0..<cols { out[base + j] = true }
                        continue
                    }
                    for j in 0..<cols {
                        let key = UInt64(orderedBits(m[base + j])) << 32 | UInt64(j)
                        keys[j] = key
                        scratch[j] = key
                    }
                    let last = kthSmallestKey(&scratch, count - 1)
                    for j in 0..<cols where keys[j] <= last { out[base + j] = true }
                }
            }
        }
        return mask
    }

    /// The element at index `k` of `a` sorted ascending (`a` is permuted), by quickselect with a
    /// median-of-three pivot (it keeps sorted or constant inputs from going quadratic).
    static func kthSmallestKey<Key: Comparable>(_ a: inout [Key], _ k: Int) -> Key {
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
