/// The normalizers LLaMA-1/2 `tokenizer.json` files use: `Sequence[Prepend("▁"), Replace(" ", "▁")]`
/// (HF `tokenizers` `src/normalizers/`). Normalizers run on each stretch of text between added
/// tokens, as in HF.
indirect enum Normalizer: Sendable, Equatable {
    /// Prepends `prefix` to a non-empty string (HF `Prepend`).
    case prepend([UInt32])
    /// Replaces every non-overlapping occurrence of `pattern`, left to right (HF `Replace` with a
    /// `String` pattern).
    case replace(pattern: [UInt32], content: [UInt32])
    case sequence([Normalizer])

    func apply(_ s: [UInt32]) -> [UInt32] {
        switch self {
        case let .prepend(prefix):
            return s.isEmpty ? s : prefix + s
        case let .replace(pattern, content):
            return replaceAll(s, pattern, content)
        case let .sequence(stages):
            return stages.reduce(s) { $1.apply($0) }
        }
    }
}

private func replaceAll(_ s: [UInt32], _ pattern: [UInt32], _ content: [UInt32]) -> [UInt32] {
    guard let first = pattern.first else { return s }
    var out: [UInt32] = []
    out.reserveCapacity(s.count)
    var k = 0
    while k < s.count {
        if s[k] == first && k + pattern.count <= s.count && s[k..<k + pattern.count].elementsEqual(pattern) {
            out += content
            k += pattern.count
        } else {
            out.append(s[k])
            k += 1
        }
    }
    return out
}
