import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file: the only place in owlprune that calls mmap and
/// munmap. The mapping is private and lazy, so a rank that reads blocks 10–19 only faults in
/// those tensors' pages; opening a file and parsing its header touches the first pages only.
///
/// The base pointer never leaves this class except inside `withBytes`, whose closure must not
/// keep it (docs/style.md: closures, never stored pointers). The mapping is immutable, so sharing the
/// object between threads is safe.
final class MappedFile: @unchecked Sendable {
    let url: URL
    /// The last path component: what error messages call the file.
    let name: String
    let byteCount: Int
    private let base: UnsafeRawPointer?

    init(url: URL) throws {
        self.url = url
        self.name = url.lastPathComponent
        let fd: Int32
        switch InputFile.openRegular(url.path) {
        case let .success(opened): fd = opened
        case let .failure(.system(_, code)): throw CheckpointError.system(call: "open", path: url.path, errno: code)
        case let .failure(error): throw CheckpointError.unreadable(path: url.path, reason: error.cause)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw CheckpointError.system(call: "fstat", path: url.path, errno: errno)
        }
        byteCount = Int(status.st_size)
        if byteCount == 0 {
            base = nil  // mmap rejects a zero length; an empty file is reported by the format parsers
            return
        }
        let mapped = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != UnsafeMutableRawPointer(bitPattern: -1) else {  // MAP_FAILED
            throw CheckpointError.system(call: "mmap", path: url.path, errno: errno)
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// Drops this process's pages of `range` (whole pages inside it only) once a tensor has been
    /// converted: a private read-only mapping re-reads them from the file if touched again, and
    /// the rank's resident memory stays its working set rather than every tensor it ever read
    /// (issue 5: peak RSS per rank bounded by its own blocks).
    func release(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Lends the bytes `range` of the file. Callers validate ranges against `byteCount` first;
    /// the precondition guards against a bug, not against a bad file.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= byteCount, "\(name): range \(range) outside file")
        guard let base, !range.isEmpty else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }
}
