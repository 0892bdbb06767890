#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM, SIGINT, SIGHUP and SIGPIPE into a clean stop (issue 26 item 1).
///
/// Why: a batch scheduler ends a job at its time limit or on `scancel` with SIGTERM (SIGKILL after
/// a grace period), a user presses Ctrl-C, and mpiexec forwards both to every rank. Dying inside
/// the signal left `OUT.tmp-*`, the lock file and temporary files behind and printed nothing. Now
/// the handler only records the signal; the main thread notices it at the next *safe point*
/// (every MPI wait, every finished block, every tensor written: `checkpoint()`) and leaves through
/// the normal error path, which tells the peers, prints one line, removes staging and lock, keeps
/// the resume journal and exits with the conventional status 128 + signal number.
///
/// - A second signal ends the process at once (the user insists), as does a first one that finds
///   no safe point within `graceSeconds` (a computation without checks in it): both print one line
///   and remove the registered temporary files, which is all a signal handler may safely do.
/// - Before a command has said it checks (`deferToSafePoints()`), the first signal also ends at
///   once: nothing is being written then that would need cleaning up.
/// - Handlers are installed whatever disposition the process inherited, so a job started in the
///   background of a script (SIGINT ignored) or with SIGPIPE ignored stops just as cleanly.
public enum StopSignal {
    /// The signals handled, each with the message a stop prints and its conventional exit status.
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGPIPE]

    /// Seconds between the first signal and the forced exit when no safe point is reached.
    public static let graceSeconds: UInt32 = 10

    /// Called on the main thread at the first safe point after a signal; never returns (the
    /// process's error path). Set once at start-up.
    nonisolated(unsafe) public static var onStop: ((Int32) -> Never)?

    /// State shared with the handler: plain memory allocated before any handler is installed, so
    /// the handler touches no lazily initialised global (Swift's `swift_once` is not
    /// async-signal-safe). Slots: signal recorded, signals seen, defer flag, stop begun.
    nonisolated(unsafe) private static let state: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
        p.initialize(repeating: 0, count: 4)
        return p
    }()

    /// When the first signal arrived (CLOCK_MONOTONIC, ns), for telling an echo from a second signal.
    nonisolated(unsafe) private static let firstSignalTime: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    /// A repeat of the first signal within this window is the same event delivered twice.
    private static let echoNanoseconds: Int64 = 100_000_000

    /// NUL-terminated paths that a forced exit unlinks (temporary files, lock files). Fixed slots,
    /// written before the file is created and cleared after it is renamed or removed.
    private static let slotCount = 16
    private static let slotBytes = 4096
    nonisolated(unsafe) private static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotBytes)
        p.initialize(repeating: 0, count: slotCount * slotBytes)
        return p
    }()
    nonisolated(unsafe) private static var slotLock = pthread_mutex_t()
    nonisolated(unsafe) private static var installed = false
    /// The thread that installed the handlers: `main`'s, where MPI calls and cleanups belong.
    nonisolated(unsafe) private static var mainThread = pthread_self()

    /// Installs the handlers. Call first thing in `main`, before any thread starts.
    public static func install() {
        guard !installed else { return }
        installed = true
        mainThread = pthread_self()
        _ = state
        _ = firstSignalTime
        _ = paths
        pthread_mutex_init(&slotLock, nil)
        // A launcher may pass a mask that blocks them (a test runner's thread, a scheduler's
        // wrapper): a blocked SIGTERM would stay pending for ever, so unblock what is handled.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in handled + [SIGALRM] { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signal in handled + [SIGALRM] {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = stopSignalHandler
            #else
            action.__sigaction_u.__sa_handler = stopSignalHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// From now on the first signal waits for a safe point instead of ending the process.
    public static func deferToSafePoints() { state[2] = 1 }

    /// The signal recorded and not yet acted on, if any.
    public static var pending: Int32? { state[0] == 0 ? nil : state[0] }

    /// A safe point: if a signal arrived, leave through `onStop` (main thread only: MPI and the
    /// cleanup run there; worker threads just finish their share and the main thread stops next).
    public static func checkpoint() {
        guard state[0] != 0, state[3] == 0, pthread_equal(pthread_self(), mainThread) != 0 else { return }
        state[3] = 1
        alarm(0)
        let signal = state[0]
        if let onStop { onStop(signal) }
        _exit(128 + signal)
    }

    /// The signal's name as users know it.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        default: "signal \(signal)"
        }
    }

    /// Registers `path` to be unlinked by a forced exit; returns the slot to pass to `forget`.
    /// nil when every slot is taken or the path is too long (the file is then only cleaned up by
    /// the normal error path and by the next run).
    public static func remember(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard bytes.count < slotBytes, !bytes.contains(0) else { return nil }
        pthread_mutex_lock(&slotLock)
        defer { pthread_mutex_unlock(&slotLock) }
        for slot in 0..<slotCount where paths[slot * slotBytes] == 0 {
            let base = paths + slot * slotBytes
            base[bytes.count] = 0
            // Back to front, the first byte last: a handler never sees a half-written path.
            for i in stride(from: bytes.count - 1, through: 0, by: -1) { base[i] = CChar(bitPattern: bytes[i]) }
            return slot
        }
        return nil
    }

    /// The file at `slot` no longer needs removing.
    public static func forget(_ slot: Int?) {
        guard let slot else { return }
        pthread_mutex_lock(&slotLock)
        paths[slot * slotBytes] = 0
        pthread_mutex_unlock(&slotLock)
    }

    /// Unlinks every remembered file (the normal error path, after a stop or a failure).
    public static func removeRemembered() {
        pthread_mutex_lock(&slotLock)
        defer { pthread_mutex_unlock(&slotLock) }
        for slot in 0..<slotCount where paths[slot * slotBytes] != 0 {
            unlink(paths + slot * slotBytes)
            paths[slot * slotBytes] = 0
        }
    }

    /// The handler's immediate exit: one line, the remembered files unlinked, status 128 + signal.
    fileprivate static func exitNow(_ signal: Int32, why: StaticString) -> Never {
        writeRaw("owlprune: ")
        writeRaw(signalName(signal))
        writeRaw(why)
        for slot in 0..<slotCount where paths[slot * slotBytes] != 0 {
            unlink(paths + slot * slotBytes)
        }
        _exit(128 + signal)
    }

    fileprivate static func handle(_ signal: Int32) {
        if signal == SIGALRM {
            guard state[0] != 0, state[3] == 0 else { return }
            exitNow(state[0], why: ": no safe point reached in time; stopped at once (use --resume to continue)\n")
        }
        // A broken pipe repeats on every later write to it (the stop's own messages included):
        // only its first occurrence counts.
        if signal == SIGPIPE && state[0] != 0 { return }
        // One event often arrives twice within microseconds: Ctrl-C reaches mpiexec and the
        // ranks of its process group, and mpiexec forwards it again; `timeout` signals its child
        // and then the child's group. A repeat of the same signal within `echoNanoseconds` is
        // that echo, not a user insisting, and must not turn a clean stop into an abrupt one.
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let stamp = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        if state[0] == signal && stamp - firstSignalTime.pointee < echoNanoseconds { return }
        if state[0] == 0 { firstSignalTime.pointee = stamp }
        state[1] &+= 1
        if state[1] >= 2 { exitNow(signal, why: " again: stopped at once\n") }
        if state[2] == 0 { exitNow(signal, why: ": stopped\n") }
        state[0] = signal
        alarm(graceSeconds)
    }

    private static func writeRaw(_ text: StaticString) {
        _ = write(STDERR_FILENO, text.utf8Start, text.utf8CodeUnitCount)
    }

    private static func signalName(_ signal: Int32) -> StaticString {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGPIPE: "SIGPIPE"
        default: "signal"
        }
    }
}

private func stopSignalHandler(_ signal: Int32) {
    let saved = errno
    StopSignal.handle(signal)
    errno = saved
}
