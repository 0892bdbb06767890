/// The BPE model of HF `tokenizer.json` (`"model": {"type": "BPE", …}`), for byte-level
/// vocabularies (GPT-2, LLaMA-3, SmolLM) and SentencePiece-style ones (LLaMA-1/2: `▁`, byte
/// fallback `<0xNN>`, fused unknowns). Merges are applied by rank, lowest first, ties to the
/// leftmost pair — HF `tokenizers` `src/models/bpe/word.rs` `merge_all`, whose priority queue this
/// copies, so a one-megabyte word (LLaMA-2 with no pre-tokenizer) costs n log n, not n².
struct BPEModel: Sendable {
    let vocab: [String: UInt32]
    /// `left << 32 | right` → `rank << 32 | merged`. A pair listed twice keeps its last rank, as
    /// HF (a `HashMap` built from the list) and GPT-2's `dict(zip(merges, range(n)))` do.
    let merges: [UInt64: UInt64]
    let unknownID: UInt32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    /// LLaMA-3: a word that is itself in the vocabulary is emitted whole, merges unused.
    let ignoreMerges: Bool
    /// Byte-level: a word's symbols are its UTF-8 bytes through `ByteLevelTable`.
    let byteLevel: Bool
    /// Byte-level: token of each byte's character. Otherwise: token `<0xNN>` (byte fallback).
    private let byteIDs: [UInt32?]
    /// Tokens that are a single scalar (the initial symbols of a SentencePiece-style word).
    private let scalarIDs: [UInt32: UInt32]

    init(vocab: [String: UInt32], merges: [(String, String)], file: String, unknownToken: String?,
         fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, byteLevel: Bool) throws {
        self.vocab = vocab
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            func id(_ token: String) throws -> UInt32 {
                guard let id = vocab[token] else {
                    throw TokenizerError.badMerge(file: file, index: rank, merge: "\(left) \(right)",
                                                  reason: "'\(token)' is not in the vocabulary")
                }
                return id
            }
            let merged = try id(left + right)
            table[UInt64(try id(left)) << 32 | UInt64(try id(right))] = UInt64(rank) << 32 | UInt64(merged)
        }
        self.merges = table
        if let unknownToken {
            guard let id = vocab[unknownToken] else {
                throw TokenizerError.unknownSpecialToken(file: file, field: "model.unk_token", token: unknownToken)
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteLevel = byteLevel
        var scalars: [UInt32: UInt32] = [:]
        for (token, id) in vocab where token.unicodeScalars.count == 1 {
            scalars[token.unicodeScalars.first!.value] = id
        }
        scalarIDs = scalars
        byteIDs = (0..<256).map { byte in
            byteLevel ? scalars[ByteLevelTable.characterOfByte[byte]]
                      : vocab["<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"]
        }
    }

    /// Appends the tokens of one pre-tokenized word.
    func tokenize(_ word: ArraySlice<UInt32>, into out: inout [UInt32]) {
        if ignoreMerges, let id = vocab[spelling(of: word)] {
            out.append(id)
            return
        }
        var symbols = initialSymbols(word)
        merge(&symbols)
        out += symbols
    }

    /// The word as the vocabulary spells it (byte-level characters, or the scalars themselves).
    private func spelling(of word: ArraySlice<UInt32>) -> String {
        var view = String.UnicodeScalarView()
        if byteLevel {
            var bytes: [UInt8] = []
            for v in word { appendUTF8(v, to: &bytes) }
            for b in bytes { view.append(Unicode.Scalar(ByteLevelTable.characterOfByte[Int(b)])!) }
        } else {
            for v in word { if let s = Unicode.Scalar(v) { view.append(s) } }
        }
        return String(view)
    }

    /// One symbol per byte (byte-level) or per scalar; a scalar missing from the vocabulary
    /// becomes its `<0xNN>` byte tokens (byte fallback) or the unknown token, consecutive unknowns
    /// fused into one when `fuse_unk` (HF `models/bpe/model.rs` `merge_word`). Without an unknown
    /// token, a missing symbol is dropped, as HF does.
    private func initialSymbols(_ word: ArraySlice<UInt32>) -> [UInt32] {
        var symbols: [UInt32] = []
        symbols.reserveCapacity(word.count)
        var previousUnknown = false
        func unknown() {
            guard let unknownID else { return }
            if !(fuseUnknown && previousUnknown) { symbols.append(unknownID) }
            previousUnknown = true
        }
        var bytes: [UInt8] = []
        for v in word {
            if !byteLevel, let id = scalarIDs[v] {
                symbols.append(id)
                previousUnknown = false
                continue
            }
            bytes.removeAll(keepingCapacity: true)
            appendUTF8(v, to: &bytes)
            if byteLevel {
                for b in bytes {
                    if let id = byteIDs[Int(b)] { symbols.append(id); previousUnknown = false } else { unknown() }
                }
            } else if byteFallback, bytes.allSatisfy({ byteIDs[Int($0)] != nil }) {
                for b in bytes { symbols.append(byteIDs[Int(b)]!) }
                previousUnknown = false
            } else {
                unknown()
            }
        }
        return symbols
    }

    /// Applies merges until none applies: always the lowest-ranked pair present, the leftmost of
    /// equals. Symbols form a linked list over their original positions; stale queue entries are
    /// recognised by re-looking up the pair at their position.
    func merge(_ ids: inout [UInt32]) {
        let n = ids.count
        guard n > 1 else { return }
        var next = (1...n).map { Int32($0) }
        next[n - 1] = -1
        var prev = (-1..<n - 1).map { Int32($0) }
        var removed = [Bool](repeating: false, count: n)
        var queue = MinHeap()
        @inline(__always) func lookup(_ a: UInt32, _ b: UInt32) -> UInt64? { merges[UInt64(a) << 32 | UInt64(b)] }
        for k in 0..<n - 1 {
            if let m = lookup(ids[k], ids[k + 1]) { queue.push(m & 0xFFFF_FFFF_0000_0000 | UInt64(k)) }
        }
        while let top = queue.pop() {
            let pos = Int(top & 0xFFFF_FFFF)
            let right = Int(next[pos])
            guard !removed[pos], right >= 0, let m = lookup(ids[pos], ids[right]),
                  m >> 32 == top >> 32 else { continue }
            ids[pos] = UInt32(truncatingIfNeeded: m)
            removed[right] = true
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = Int(prev[pos])
            if before >= 0, let m2 = lookup(ids[before], ids[pos]) {
                queue.push(m2 & 0xFFFF_FFFF_0000_0000 | UInt64(before))
            }
            if after >= 0, let m2 = lookup(ids[pos], ids[Int(after)]) {
                queue.push(m2 & 0xFFFF_FFFF_0000_0000 | UInt64(pos))
            }
        }
        var out: [UInt32] = []
        var k = 0
        while k >= 0 { out.append(ids[k]); k = Int(next[k]) }
        ids = out
    }
}

/// A binary min-heap of `rank << 32 | position` keys, so the order is (rank, position).
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var k = items.count - 1
        while k > 0 {
            let parent = (k - 1) / 2
            guard items[parent] > items[k] else { break }
            items.swapAt(parent, k)
            k = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var k = 0
        while true {
            let l = 2 * k + 1, r = l + 1
            var smallest = k
            if l < items.count && items[l] < items[smallest] { smallest = l }
            if r < items.count && items[r] < items[smallest] { smallest = r }
            if smallest == k { break }
            items.swapAt(k, smallest)
            k = smallest
        }
        return top
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
