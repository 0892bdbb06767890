import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way owlprune creates a file that is renamed into place later (issue 26 item 2).
///
/// Why: the writers used `<dest>.tmp-<pid>` opened with `O_CREAT|O_TRUNC`, a name anyone could
/// guess and plant a symbolic link at, so another user's file was truncated and overwritten
/// through it. Now the name carries 64 random bits, and the file is opened with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`: if anything, link or file, already sits at the name, the open
/// fails instead of following or reusing it (a fresh name is tried). The path is registered with
/// `StopSignal`, so even a forced exit on a signal removes it.
public struct TemporaryFile {
    public let url: URL
    public let descriptor: Int32
    private let slot: Int?

    /// Creates `<destination>.tmp-<16 hex digits>` exclusively, mode 0644.
    public static func create(beside destination: URL) throws -> TemporaryFile {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let suffix = String(generator.next() as UInt64, radix: 16)
            let url = URL(fileURLWithPath: destination.path + ".tmp-" + String(repeating: "0", count: 16 - suffix.count) + suffix)
            let slot = StopSignal.remember(url.path)
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return TemporaryFile(url: url, descriptor: fd, slot: slot) }
            let code = errno
            StopSignal.forget(slot)
            guard code == EEXIST || code == ELOOP else {
                throw CheckpointError.system(call: "open", path: url.path, errno: code)
            }
        }
        throw CheckpointError.system(call: "open", path: destination.path + ".tmp-*", errno: EEXIST)
    }

    /// The file was renamed into place or removed: a forced exit must no longer unlink its name.
    public func settled() { StopSignal.forget(slot) }
}
