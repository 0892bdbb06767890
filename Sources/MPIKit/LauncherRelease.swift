import Foundation

/// Tells the process manager that this rank ends cleanly, without `MPI_Finalize`.
///
/// Why: owlprune skips `MPI_Finalize` across hosts (Debian 12's MPICH 4.0.2 can deadlock in it,
/// see `Runtime.finish`). But hydra's proxy treats a rank whose PMI socket closes before a PMI
/// `finalize` as crashed and, with its default auto-cleanup, SIGKILLs the job's other ranks —
/// so the first rank to `_exit` could kill peers that were just behind it, and mpiexec then
/// reported exit 9 for a run whose output was complete (seen in about 1 of 10 runs under load).
/// `MPI_Finalize` ends with exactly this PMI-1 exchange, `cmd=finalize` answered by
/// `cmd=finalize_ack` on the socket hydra passes in `PMI_FD`; sending it ourselves gives hydra
/// the clean exit it expects while skipping the network teardown that can hang.
///
/// Only the PMI-1 wire protocol is spoken (MPICH's default, `MPIR_CVAR_PMI_VERSION` unset or 1);
/// otherwise, or without `PMI_FD` (a plain process), nothing is sent. The reply is awaited at most
/// `timeout` seconds; a missing reply changes nothing but the exit's cleanliness.
public func releaseProcessManager(timeout: Double = 5) {
    let environment = ProcessInfo.processInfo.environment
    guard let text = environment["PMI_FD"], let fd = Int32(text), fd >= 0 else { return }
    if let version = environment["MPIR_CVAR_PMI_VERSION"], version != "1" { return }
    let request = Array("cmd=finalize\n".utf8)
    let sent = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard sent == request.count else { return }
    let deadline = Date().addingTimeInterval(timeout)
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let left = deadline.timeIntervalSinceNow
        guard left > 0, poll(&descriptor, 1, Int32(left * 1000) + 1) > 0 else { return }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") else { return }
    }
}

/// Waits (at most `timeout` seconds) until the process manager has read everything this rank
/// wrote to stderr, when stderr is a pipe (as under hydra).
///
/// Why: `MPI_Abort` right after an error line could tear the job down before hydra's proxy had
/// read that line from the pipe, and the line was lost (seen twice in one full test run on a
/// loaded machine). The proxy forwards what it reads on the same connection that later carries
/// the abort, so once the pipe is empty the line reaches mpiexec first. A terminal or a file has
/// nothing to drain and returns at once.
public func waitForStandardErrorToDrain(timeout: Double = 2) {
    var info = stat()
    guard fstat(STDERR_FILENO, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        var pending: Int32 = 0
        guard ioctl(STDERR_FILENO, UInt(FIONREAD), &pending) == 0, pending > 0 else { return }
        usleep(2_000)
    }
}
