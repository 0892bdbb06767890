/// Finds the `added_tokens` of `tokenizer.json` (special or not) literally in the text before
/// anything else runs, as HF `tokenizers` `AddedVocabulary` does: leftmost match first, the
/// longest at that position. The stretches between matches go through the normal pipeline.
///
/// Differences from HF, none of which LLaMA-family files use: `lstrip`/`rstrip`/`single_word`
/// are ignored, and tokens marked `normalized: true` are matched on the raw text.
struct AddedTokenMatcher: Sendable {
    struct Candidate: Sendable {
        let scalars: [UInt32]
        let id: UInt32
    }

    enum Segment: Equatable {
        case text(Range<Int>)
        case token(UInt32)
    }

    /// Candidates by first scalar, longest first.
    private let byFirstScalar: [UInt32: [Candidate]]

    init(_ tokens: [(content: String, id: UInt32)]) {
        var table: [UInt32: [Candidate]] = [:]
        for (content, id) in tokens {
            let scalars = content.unicodeScalars.map(\.value)
            guard let first = scalars.first else { continue }
            table[first, default: []].append(Candidate(scalars: scalars, id: id))
        }
        byFirstScalar = table.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
    }

    func segments(_ s: [UInt32]) -> [Segment] {
        guard !byFirstScalar.isEmpty else { return s.isEmpty ? [] : [.text(0..<s.count)] }
        var out: [Segment] = []
        var textStart = 0
        var k = 0
        while k < s.count {
            if let candidates = byFirstScalar[s[k]],
               let hit = candidates.first(where: { k + $0.scalars.count <= s.count && s[k..<k + $0.scalars.count].elementsEqual($0.scalars) }) {
                if textStart < k { out.append(.text(textStart..<k)) }
                out.append(.token(hit.id))
                k += hit.scalars.count
                textStart = k
            } else {
                k += 1
            }
        }
        if textStart < s.count { out.append(.text(textStart..<s.count)) }
        return out
    }
}
