/// ggml tensor types with a known storage layout: raw values are `enum ggml_type` in ggml
/// `ggml.h`; block sizes and bytes per block are those of `ggml_type_traits` in `ggml.c`
/// (`QK4_0 = 32`, `sizeof(block_q4_0) = 18`, `QK_K = 256`, …). Types outside this table (the
/// IQ family, removed types) are rejected when a file is opened, naming tensor and number.
/// `GGUFDequant` decodes F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K … Q6_K; the
/// others (Q8_1, Q8_K, the integer types) can be listed but not read.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .i8: 1
        case .f16, .bf16, .i16: 2
        case .f32, .i32: 4
        case .i64, .f64: 8
        case .q4_0: 18   // f16 d, 16 bytes of nibbles
        case .q4_1: 20   // f16 d, f16 m, 16 bytes of nibbles
        case .q5_0: 22   // f16 d, 4 bytes of high bits, 16 bytes of nibbles
        case .q5_1: 24   // f16 d, f16 m, 4 + 16 bytes
        case .q8_0: 34   // f16 d, 32 int8
        case .q8_1: 36   // f16 d, f16 s, 32 int8
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        }
    }

    /// ggml's spelling, for messages and `owlprune inspect`.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q8_1: "Q8_1"
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .q8_K: "Q8_K"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        case .f64: "F64"
        }
    }
}

extension GGMLType {
    /// ggml's name for a type number owlprune does not read (`enum ggml_type` in `ggml.h`), so a
    /// refusal says "IQ2_XXS" rather than "16"; nil for numbers ggml never assigned.
    public static func foreignName(_ raw: UInt32) -> String? {
        switch raw {
        case 4: "Q4_2 (removed)"
        case 5: "Q4_3 (removed)"
        case 16: "IQ2_XXS"
        case 17: "IQ2_XS"
        case 18: "IQ3_XXS"
        case 19: "IQ1_S"
        case 20: "IQ4_NL"
        case 21: "IQ3_S"
        case 22: "IQ2_S"
        case 23: "IQ4_XS"
        case 29: "IQ1_M"
        case 31: "Q4_0_4_4 (removed)"
        case 32: "Q4_0_4_8 (removed)"
        case 33: "Q4_0_8_8 (removed)"
        case 34: "TQ1_0"
        case 35: "TQ2_0"
        case 36: "IQ4_NL_4_4 (removed)"
        case 37: "IQ4_NL_4_8 (removed)"
        case 38: "IQ4_NL_8_8 (removed)"
        case 39: "MXFP4"
        default: nil
        }
    }
}

/// One entry of a GGUF file's tensor-info table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// Dimensions as stored, `ne[0]` first: ne[0] is the contiguous axis, so a weight that
    /// Hugging Face stores as (out × in) appears here as [in, out].
    public let dims: [Int]
    /// Offset of the data from the start of the file's data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    /// ggml's name of the storage type ("Q4_1"), for listings.
    public var typeName: String { type.name }
    /// Rows in Hugging Face layout: every dimension after ne[0] (1 for a vector).
    public var rows: Int { dims.dropFirst().reduce(1, *) }
    /// Columns in Hugging Face layout: ne[0].
    public var cols: Int { dims.first ?? 1 }
}
