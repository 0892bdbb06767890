import Diagnostics
import Foundation

/// The dtypes of the safetensors format (huggingface/safetensors `safetensors/src/tensor.rs`,
/// `Dtype`). All are recognised so `owlprune inspect` can describe any file; only F32, F16 and
/// BF16 convert to and from float32.
public enum SafetensorsDType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case i64 = "I64", u64 = "U64", f64 = "F64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .i64, .u64, .f64: 8
        }
    }

    /// The dtypes `matrix(_:)` widens and `SafetensorsWriter` narrows to.
    public var isFloatConvertible: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

/// One validated header entry. `dataOffsets` are relative to the start of the data section,
/// exactly as the header stores them (docs/design.md §5).
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataOffsets.count }
}

/// Parses and validates a safetensors header: every field of every entry is checked, and the
/// first bad one is reported with the file and tensor named. The checks are the ones
/// huggingface/safetensors `SafeTensors::read_metadata` / `Metadata::validate` make, except that
/// gaps between spans are allowed (only overlaps are errors).
struct SafetensorsHeader {
    static let metadataKey = "__metadata__"

    let tensors: [TensorInfo]  // sorted by data offset, then name
    let metadata: [String: String]

    /// `json` is the header text; `dataBytes` the size of the data section that follows it.
    init(json: Data, dataBytes: Int, file: String) throws {
        // JSONDecoder keeps one copy of a repeated key silently, and the readers in other
        // languages disagree on which; such a header is refused (after parsing, so the scan may
        // assume valid JSON).
        let decoder = JSONDecoder()
        decoder.userInfo[HeaderJSON.fileKey] = file
        let raw: HeaderJSON
        do {
            raw = try decoder.decode(HeaderJSON.self, from: json)
        } catch let error as CheckpointError {
            throw error
        } catch DecodingError.typeMismatch(_, _) {
            throw CheckpointError.headerNotJSON(file: file, reason: "the top level is not an object")
        } catch {
            throw CheckpointError.headerNotJSON(file: file, reason: Self.describe(error))
        }
        if let duplicate = JSONDuplicateKeys.first(in: json) {
            throw CheckpointError.duplicateKey(file: file, key: duplicate.key, path: duplicate.path)
        }
        metadata = raw.metadata
        var infos: [TensorInfo] = []
        for entry in raw.entries {
            infos.append(try Self.validate(entry, dataBytes: dataBytes, file: file))
        }
        infos.sort { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        try Self.checkOverlaps(infos, file: file)
        tensors = infos
    }

    private static func validate(_ e: HeaderJSON.Entry, dataBytes: Int, file: String) throws -> TensorInfo {
        guard let dtype = SafetensorsDType(rawValue: e.dtype) else {
            throw CheckpointError.unknownDtype(file: file, tensor: e.name, dtype: e.dtype)
        }
        if let bad = e.shape.first(where: { $0 < 0 }) {
            throw CheckpointError.badTensorField(file: file, tensor: e.name, field: "shape",
                                                 reason: "dimension \(bad) is negative")
        }
        guard nonZeroProductFits(e.shape) else {
            throw CheckpointError.badTensorField(file: file, tensor: e.name, field: "shape",
                                                 reason: "\(e.shape) overflows an element count")
        }
        guard e.offsets.count == 2 else {
            throw CheckpointError.badTensorField(file: file, tensor: e.name, field: "data_offsets",
                                                 reason: "expected [begin, end], got \(e.offsets.count) numbers")
        }
        let (begin, end) = (e.offsets[0], e.offsets[1])
        guard begin >= 0, begin <= end else {
            throw CheckpointError.badTensorField(file: file, tensor: e.name, field: "data_offsets",
                                                 reason: "begin \(begin) is negative or after end \(end)")
        }
        guard end <= dataBytes else {
            throw CheckpointError.tensorOutOfBounds(file: file, tensor: e.name, end: end, dataBytes: dataBytes)
        }
        var expected = dtype.byteSize
        for dim in e.shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw CheckpointError.badTensorField(file: file, tensor: e.name, field: "shape",
                                                     reason: "\(e.shape) overflows a byte count")
            }
            expected = product
        }
        guard end - begin == expected else {
            throw CheckpointError.spanSizeMismatch(file: file, tensor: e.name, dtype: e.dtype, shape: e.shape,
                                                   spanBytes: end - begin, expectedBytes: expected)
        }
        return TensorInfo(name: e.name, dtype: dtype, shape: e.shape, dataOffsets: begin..<end)
    }

    /// `sorted` is ordered by begin, so a span overlaps an earlier one exactly when it starts
    /// before the furthest end seen so far. Empty spans occupy no bytes and never overlap.
    private static func checkOverlaps(_ sorted: [TensorInfo], file: String) throws {
        var furthest: TensorInfo?
        for info in sorted where !info.dataOffsets.isEmpty {
            if let prior = furthest, info.dataOffsets.lowerBound < prior.dataOffsets.upperBound {
                throw CheckpointError.overlappingTensors(file: file, tensor: info.name, span: info.dataOffsets,
                                                         other: prior.name, otherSpan: prior.dataOffsets)
            }
            if furthest.map({ info.dataOffsets.upperBound > $0.dataOffsets.upperBound }) ?? true { furthest = info }
        }
    }

    static func describe(_ error: any Error) -> String { jsonErrorReason(error) }
}

/// The header as JSON: an object whose values are tensor entries, plus `__metadata__`.
/// Entry fields are decoded one by one so a bad field becomes an error naming its tensor.
private struct HeaderJSON: Decodable {
    static let fileKey = CodingUserInfoKey(rawValue: "owlprune.safetensors.file")!

    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var offsets: [Int]
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var entries: [Entry] = []
    var metadata: [String: String] = [:]

    init(from decoder: any Decoder) throws {
        let file = decoder.userInfo[Self.fileKey] as? String ?? "safetensors"
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == SafetensorsHeader.metadataKey {
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw CheckpointError.headerNotJSON(file: file, reason: "__metadata__ must map strings to strings")
                }
                continue
            }
            let name = key.stringValue
            let fields: KeyedDecodingContainer<Key>
            do {
                fields = try container.nestedContainer(keyedBy: Key.self, forKey: key)
            } catch {
                throw CheckpointError.badTensorField(file: file, tensor: name, field: "entry", reason: "not a JSON object")
            }
            func field<T: Decodable>(_ field: String, _ type: T.Type, _ expected: String) throws -> T {
                do {
                    return try fields.decode(T.self, forKey: Key(stringValue: field))
                } catch DecodingError.keyNotFound {
                    throw CheckpointError.badTensorField(file: file, tensor: name, field: field, reason: "missing")
                } catch {
                    throw CheckpointError.badTensorField(file: file, tensor: name, field: field, reason: "expected \(expected)")
                }
            }
            entries.append(Entry(name: name,
                                 dtype: try field("dtype", String.self, "a string"),
                                 shape: try field("shape", [Int].self, "a list of integers"),
                                 offsets: try field("data_offsets", [Int].self, "a list of integers")))
        }
    }
}
