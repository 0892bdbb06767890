#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening an input file (a weight shard, a calibration or evaluation text) so that it can
/// neither hang nor be misreported (issue 26 items 4 and 5).
///
/// Why: a FIFO in place of a shard made `open` wait for a writer for ever, and `--calib
/// <(cat file)` or `/dev/zero` were reported as "permission denied". The open is non-blocking (a
/// FIFO opens at once), and anything but a regular file is refused by name: "is a FIFO, not a
/// regular file". Inputs are read whole or mapped, so they must be regular files.
public enum InputFile {
    /// A read-only descriptor of the regular file at `path`, or the reason it cannot be one.
    public static func openRegular(_ path: String) -> Result<Int32, InputFileError> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.system(path: path, errno: errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            return .failure(.system(path: path, errno: code))
        }
        if let kind = kindName(info.st_mode) {
            close(fd)
            return .failure(.notRegular(path: path, kind: kind))
        }
        // Back to blocking reads: a regular file never blocks, but the flag should not surprise a reader.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .success(fd)
    }

    /// The whole regular file at `path`; with `limit`, a larger file is refused before a byte
    /// is read (a small configuration file named in place of a multi-gigabyte one).
    public static func readAll(_ path: String, limit: Int? = nil) -> Result<[UInt8], InputFileError> {
        switch openRegular(path) {
        case let .failure(error): return .failure(error)
        case let .success(fd):
            defer { close(fd) }
            if let limit {
                var info = stat()
                if fstat(fd, &info) == 0, Int(info.st_size) > limit {
                    return .failure(.tooLarge(path: path, size: Int(info.st_size), limit: limit))
                }
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(.system(path: path, errno: errno))
                }
                if n == 0 { return .success(bytes) }
                bytes.append(contentsOf: chunk[0..<n])
            }
        }
    }

    /// `readAll`, throwing: for callers that turn any file error into their own message
    /// (`fileErrorCause` knows this error).
    public static func bytes(_ path: String) throws -> [UInt8] {
        try readAll(path).get()
    }

    /// "a FIFO", "a directory", … for everything that is not a regular file.
    static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO or pipe"
        case S_IFSOCK: "a socket"
        default: "not a plain file"
        }
    }
}

public enum InputFileError: Error, Equatable {
    case system(path: String, errno: Int32)
    case notRegular(path: String, kind: String)
    case tooLarge(path: String, size: Int, limit: Int)

    /// The cause alone, for messages that name the file themselves.
    public var cause: String {
        switch self {
        case let .system(_, code): String(cString: strerror(code)).lowercased()
        case let .notRegular(_, kind): "is \(kind), not a regular file"
        case let .tooLarge(_, size, limit): "is \(size) bytes, more than the \(limit) such a file may have"
        }
    }
}
