import ArgumentParser
import Diagnostics
import Foundation

/// Reads a whole ids file as `owlprune tokenize` writes it (little-endian uint32, no header),
/// checking its length and every id against the vocabulary before anything uses them.
package func readTokenIDs(_ url: URL, vocabulary: Int) throws -> [Int] {
    let data: Data
    do { data = Data(try InputFile.bytes(url.path)) } catch {
        throw ValidationError("\(url.path): cannot read it (\(fileErrorCause(error)))")
    }
    guard data.count % 4 == 0 else {
        throw ValidationError("\(url.path): \(data.count) bytes is not a whole number of uint32 token ids")
    }
    guard data.count >= 8 else { throw ValidationError("\(url.path): fewer than 2 token ids") }
    var ids = [Int](repeating: 0, count: data.count / 4)
    data.withUnsafeBytes { raw in
        for i in ids.indices { ids[i] = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
    }
    if let (index, id) = ids.enumerated().first(where: { $0.element >= vocabulary }) {
        throw ValidationError("\(url.path): token id \(id) at position \(index) is outside the vocabulary of \(vocabulary)")
    }
    return ids
}
