import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock (flock) on a hidden file beside an output directory, `.<name>.lock`, held for
/// the whole run so a second run on the same `--out` fails at once instead of racing the first to
/// the rename (issue 10 item 3). The file is hidden so it never looks like an output or a staging
/// directory; it is removed on release.
///
/// Removing a lock file is racy with plain flock (a waiter may lock the inode just unlinked while
/// a newcomer creates and locks a fresh one), so after locking, the holder checks that the path
/// still names the inode it locked and retries otherwise; the holder unlinks before it closes.
/// The kernel drops the lock when the process dies (MPI_Abort, kill -9), so a stale file left by
/// a killed run never blocks the next one.
final class OutputLock: @unchecked Sendable {
    let path: String
    private var descriptor: Int32
    /// The path's slot in `StopSignal`, so a forced exit on a signal still removes the file.
    private var slot: Int?
    private let mutex = NSLock()

    /// The lock file of `destination`.
    static func path(beside destination: URL) -> String {
        (destination.deletingLastPathComponent().path as NSString).appendingPathComponent("." + destination.lastPathComponent + ".lock")
    }

    /// nil when another process holds the lock. `owner` (the run id) is written into the file, so
    /// the other ranks of the same job can remove it after a failure (`removeIfOwned`).
    init?(beside destination: URL, owner: String) throws {
        path = Self.path(beside: destination)
        while true {
            // Never through a link (issue 26 item 2): a symbolic link planted at the lock's name
            // fails the open (ELOOP) instead of truncating whatever it points to, and a hard
            // link to someone's file (a second name, st_nlink > 1) is refused before any write.
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                if errno == ELOOP { throw OutputDirectoryError.notReplaceable(path: path, reason: "(the output's lock file) is a symbolic link") }
                throw CheckpointError.system(call: "open", path: path, errno: errno)
            }
            var own = stat()
            guard fstat(fd, &own) == 0, own.st_mode & S_IFMT == S_IFREG, own.st_nlink == 1 else {
                close(fd)
                throw OutputDirectoryError.notReplaceable(path: path, reason: "(the output's lock file) is not a plain file of its own")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                close(fd)
                if code == EWOULDBLOCK { return nil }
                throw CheckpointError.system(call: "flock", path: path, errno: code)
            }
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                descriptor = fd
                slot = StopSignal.remember(path)
                let text = Array(owner.utf8)
                _ = ftruncate(fd, 0)
                _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                return
            }
            close(fd)  // the previous holder unlinked the file between our open and flock: try again
        }
    }

    /// Unlinks the lock file and drops the lock (idempotent).
    func release() {
        mutex.withLock {
            guard descriptor >= 0 else { return }
            unlink(path)
            close(descriptor)
            descriptor = -1
            StopSignal.forget(slot)
        }
    }

    deinit { release() }

    /// Removes the lock file at `path` if it names `owner`: a rank that fails while rank 0 holds
    /// the lock cleans up for the whole job (rank 0 is about to be aborted and cannot), but never
    /// touches the lock of another run.
    static func removeIfOwned(_ path: String, owner: String) {
        guard let data = FileManager.default.contents(atPath: path), String(decoding: data, as: UTF8.self) == owner else { return }
        unlink(path)
    }
}
