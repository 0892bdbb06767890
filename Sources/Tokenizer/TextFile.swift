import Diagnostics
import Foundation

/// Reads a calibration or evaluation text file as docs/algorithms.md §2.1 and §11.1 prescribe: the
/// bytes as they are (no newline translation, so CRLF survives), minus a leading UTF-8
/// byte-order mark, decoded as strict UTF-8. `String(decoding:)` would silently substitute
/// U+FFFD and change the token stream, so invalid input is an error naming the byte offset.
public func readTextFile(_ url: URL) throws -> String {
    switch InputFile.readAll(url.path) {
    case let .success(bytes): return try decodeUTF8Text(bytes, file: url.path)
    case let .failure(error): throw TokenizerError.unreadableFile(file: url.path, reason: error.cause)
    }
}

/// The byte-level part of `readTextFile`, separate so tests can feed bytes directly.
func decodeUTF8Text(_ bytes: [UInt8], file: String) throws -> String {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    let start = bytes.starts(with: bom) ? 3 : 0
    let body = bytes[start...]
    if let offset = firstInvalidUTF8Offset(body) {
        throw TokenizerError.invalidUTF8(file: file, byteOffset: offset)
    }
    return String(decoding: body, as: UTF8.self)
}

/// Offset (in the whole file, BOM included) of the first byte that starts an ill-formed UTF-8
/// sequence, or nil. Uses the standard library's validating decoder, which rejects overlong
/// forms, surrogates and values above U+10FFFF as the Unicode standard requires.
func firstInvalidUTF8Offset(_ bytes: ArraySlice<UInt8>) -> Int? {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var offset = bytes.startIndex
    while true {
        switch decoder.decode(&iterator) {
        case let .scalarValue(scalar): offset += UTF8.width(scalar)
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}
