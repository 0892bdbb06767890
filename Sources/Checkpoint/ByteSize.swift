import Foundation

/// A number of bytes as transformers and huggingface_hub write sizes (`max_shard_size`,
/// accelerate's `max_memory`), the one convention of every size flag (`--max-shard-size`,
/// `--max-memory`; issue 23 item 4): `KB`, `MB`, `GB`, `TB` are powers of ten (`5GB` = 5·10⁹),
/// `KiB`, `MiB`, `GiB`, `TiB` powers of two (`5GiB` = 5·2³⁰), any case, with an optional decimal
/// part and spaces before the unit; a bare integer is a byte count.
///
/// transformers 4 (`utils/hub.py`, `convert_file_size_to_int`) takes the integer, the binary and
/// the decimal units; transformers 5 hands the string to huggingface_hub
/// (`serialization/_base.py`, `parse_size_to_int`), which takes `KB`…`TB`, a decimal number and any
/// case. This takes the union. transformers 4's reading of a final lower-case `b` as bits is left
/// out (huggingface_hub reads `5Gb` as 5 GB). A unit letter without `B` (`48G`, as Slurm's
/// `--mem` writes it) is refused rather than guessed: whether it means 10⁹ or 2³⁰ is what the
/// caller must say (`unitHint`).
public struct ByteSize: Sendable, Hashable, CustomStringConvertible {
    public let bytes: Int
    /// The size as it was written, for messages and for the effective recipe.
    public let text: String

    public var description: String { text }

    public init(bytes: Int) {
        self.bytes = bytes
        text = String(bytes)
    }

    /// Nil for anything the grammar above does not take, or a size below one byte.
    public init?(_ text: String) {
        guard let bytes = Self.parse(text) else { return nil }
        self.bytes = bytes
        self.text = text
    }

    static let units: [(suffix: String, factor: Double)] = [
        ("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
        ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3),
    ]

    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let n = Int(trimmed), n > 0, trimmed.allSatisfy(\.isNumber) { return n }
        let upper = trimmed.uppercased()
        guard let unit = units.first(where: { upper.hasSuffix($0.suffix) }) else { return nil }
        let number = trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              number.filter({ $0 == "." }).count <= 1, let value = Double(number) else { return nil }
        let bytes = (value * unit.factor).rounded(.towardZero)
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        return Int(bytes)
    }

    /// Why `text` is not a size, in words that say what to write instead: for `48G`, both readings.
    public static func problem(with text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let last = trimmed.last, "KMGTkmgt".contains(last) {
            let number = trimmed.dropLast()
            if !number.isEmpty, Double(number) != nil {
                let u = last.uppercased()
                let decimal = ["K": 3, "M": 6, "G": 9, "T": 12][u]!, binary = ["K": 10, "M": 20, "G": 30, "T": 40][u]!
                return "say \(number)\(u)B (\(number)·10^\(decimal) bytes) or \(number)\(u)iB (\(number)·2^\(binary) bytes)"
            }
        }
        return "expected a size such as 5GB, 500MB (powers of ten), 2GiB (powers of two) or a number of bytes"
    }
}
