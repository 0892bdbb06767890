#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way owlprune writes to its standard streams (issue 26 item 4).
///
/// Why: Foundation's `FileHandle.write(_: Data)` ends in a `try!`, so a write to a full disk
/// (`> /dev/full`), a closed descriptor or a broken pipe killed the process with SIGILL and a
/// 30-line dump, even after a complete run. Here each write is a plain `write(2)` loop: a
/// progress or error line that cannot be written is dropped (there is nowhere left to report
/// it), and a failed write of a result to stdout is returned to the caller, which reports it on
/// stderr and exits non-zero, so a script never takes a truncated result for a complete one.
public enum Console {
    /// Writes `text` to stderr in one `write` where possible (so lines of different ranks do not
    /// interleave mid-line); errors are ignored.
    public static func error(_ text: String) {
        _ = writeAll(STDERR_FILENO, text)
    }

    /// Writes `text` to stdout; the `errno` of a failed write, nil when all of it was written.
    public static func output(_ text: String) -> Int32? {
        writeAll(STDOUT_FILENO, text)
    }

    private static func writeAll(_ fd: Int32, _ text: String) -> Int32? {
        var text = text
        return text.withUTF8 { bytes -> Int32? in
            var done = 0
            while done < bytes.count {
                let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { return EIO }
                done += n
            }
            return nil
        }
    }
}
