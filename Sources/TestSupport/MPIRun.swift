import Foundation

/// Runs the built `owlprune` binary, under `mpiexec -n R` or as a plain process, with a hard
/// timeout (docs/platform.md: a rank that merely exits can hang a multi-host job, so no launch may
/// wait forever). Output is read to EOF before waiting, as Foundation's Process requires.
public struct MPIRun {
    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public let timedOut: Bool
    }

    /// `OWLPRUNE_BIN` if set, else `owlprune` beside the test runner (the same build directory).
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["OWLPRUNE_BIN"] { return URL(fileURLWithPath: path) }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("owlprune")
    }

    /// - Parameters:
    ///   - ranks: `nil` runs the binary directly (singleton MPI), otherwise under mpiexec.
    ///   - binary: another copy of owlprune to run (default `MPIRun.binary`).
    ///   - currentDirectory: the working directory of the run (default the test runner's).
    public static func run(_ arguments: [String], ranks: Int?, timeout: TimeInterval = 300,
                           environment: [String: String] = [:], mpiexecArguments: [String] = [],
                           binary: URL = MPIRun.binary, currentDirectory: URL? = nil) throws -> Outcome {
        let process = Process()
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        var args: [String] = []
        if let r = ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            args = ["-k", "5", String(Int(timeout)), "/usr/bin/mpiexec"] + mpiexecArguments + ["-n", String(r), binary.path]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            args = ["-k", "5", String(Int(timeout)), binary.path]
        }
        process.arguments = args + arguments
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        return try SubprocessTimes.measure {
            try process.run()
            // Drain both pipes concurrently so neither can fill up and block the child.
            nonisolated(unsafe) var errData = Data()
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async {
                errData = err.fileHandleForReading.readDataToEndOfFile()
                group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let status = process.terminationStatus
        return Outcome(status: status, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self), timedOut: status == 124 || status == 137)
        }
    }
}
