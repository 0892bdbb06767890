import Foundation

/// Resident set size now (`/proc/self/statm`'s second field, in pages): what the process holds
/// before a job's own work starts (runtime, MPI and BLAS buffers, tokenizer tables, calibration
/// windows), the baseline of the memory bound (issue 29 item 4); 0 where /proc is unavailable.
public func currentResidentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Peak resident set size of this process (`VmHWM` in /proc/self/status), for the report's
/// per-rank memory figures; 0 where /proc is unavailable.
public func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
