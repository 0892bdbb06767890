import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way owlprune puts a file in place (issue 23 item 4, issue 26 item 2): every writer —
/// safetensors, GGUF, the plan, sweep and token files, the sweep journal, the shard index — goes
/// through these `open`/`write`/`fsync`/`close`/`rename` calls, so the safety rules and the
/// error messages are written once.
///
/// Why each rule: the bytes go to `<destination>.tmp-<16 random hex digits>` opened with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`, a name nobody can guess and plant a symbolic link at (a guessable
/// `.tmp-<pid>` once let another user's file be truncated through a link), and if anything sits
/// at the name the open fails instead of following or reusing it. `commit` fsyncs (unless the
/// caller's data carries its own checksums, as the resume journal's does), closes and renames, so
/// a reader sees the old file or the whole new one, never half of one. The temporary name is
/// registered with `StopSignal`, so even a forced exit on a signal removes it; any error, or
/// dropping the file before `commit`, removes it too. Failures are `CheckpointError.system`,
/// which names the call and the path.
public final class AtomicFile {
    public let destination: URL
    /// The temporary file the bytes go to until `commit`.
    public let url: URL
    private var fd: Int32
    private let slot: Int?
    /// Committed or discarded: the name is no longer ours to remove.
    private var settled = false

    /// Creates the temporary file beside `destination`, exclusively, mode 0644.
    public init(beside destination: URL) throws {
        self.destination = destination
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let suffix = String(generator.next() as UInt64, radix: 16)
            let url = URL(fileURLWithPath: destination.path + ".tmp-" + String(repeating: "0", count: 16 - suffix.count) + suffix)
            let slot = StopSignal.remember(url.path)
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 {
                (self.url, self.fd, self.slot) = (url, fd, slot)
                return
            }
            let code = errno
            StopSignal.forget(slot)
            // Named by the destination the user gave: the temporary name is ours, not theirs.
            guard code == EEXIST || code == ELOOP else {
                throw CheckpointError.system(call: "open", path: destination.path, errno: code)
            }
        }
        throw CheckpointError.system(call: "open", path: destination.path + ".tmp-*", errno: EEXIST)
    }

    deinit { discard() }

    /// Whether the file is still being written (neither committed nor discarded).
    public var isOpen: Bool { fd >= 0 }

    /// Appends every byte (short writes and interruptions retried); on failure the temporary file
    /// is removed before the error is thrown.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw CheckpointError.system(call: "write", path: url.path, errno: EBADF) }
        do { try FileDescriptorWrite.all(fd, bytes, path: url.path) } catch {
            discard()
            throw error
        }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Flushes (when `durable`), closes and renames the file onto `destination`. On failure the
    /// temporary file is removed and `destination` is left as it was.
    public func commit(durable: Bool = true) throws {
        guard fd >= 0 else { throw CheckpointError.system(call: "rename", path: destination.path, errno: EBADF) }
        let descriptor = fd
        fd = -1
        do { try FileDescriptorWrite.syncAndClose(descriptor, durable: durable, path: url.path) } catch {
            discard()
            throw error
        }
        guard rename(url.path, destination.path) == 0 else {
            let code = errno
            discard()
            throw CheckpointError.system(call: "rename", path: destination.path, errno: code)
        }
        settle()
    }

    /// Closes and removes the temporary file; `destination` is untouched.
    public func discard() {
        guard !settled else { return }
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(url.path)
        settle()
    }

    private func settle() {
        StopSignal.forget(slot)
        settled = true
    }

    /// A whole small file (JSON, CSV, SVG, token ids) put in place durably.
    public static func write(_ data: Data, to destination: URL, durable: Bool = true) throws {
        let file = try AtomicFile(beside: destination)
        try file.write(data)
        try file.commit(durable: durable)
    }
}
