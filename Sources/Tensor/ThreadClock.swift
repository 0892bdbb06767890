#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU seconds consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID).
///
/// `bench forward` runs on a machine shared by several engineers (load 5–10 on 2 vCPUs is
/// common), where wall time mostly measures the scheduler: a product timed twice in a row can
/// differ 3×. With OpenBLAS pinned to one thread every kernel runs on the calling thread, so its
/// thread CPU time is the work done, not the time spent waiting for a core. Cache and memory
/// bandwidth shared with other tenants still show; time slices taken away do not. Both sides of
/// a forward/sgemm ratio are read from the same clock.
public enum ThreadClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds since `start` (from `nanoseconds()`).
    @inline(__always)
    public static func seconds(since start: UInt64) -> Double {
        Double(nanoseconds() &- start) * 1e-9
    }
}
