import Foundation

/// Runs a Python check the way the format tests do: `python3 -c SCRIPT ARGS...`, stdout and
/// stderr together, so a failing assertion's traceback lands in the test's message.
public enum PythonScript {
    public static func run(_ script: String, arguments: [String]) throws -> (status: Int32, log: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        return try SubprocessTimes.measure {
            try p.run()
            let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, log)
        }
    }
}
