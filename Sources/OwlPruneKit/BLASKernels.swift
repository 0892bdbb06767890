import CBLAS
import Cluster
import Diagnostics
import Foundation
import MPIKit

/// One OpenBLAS kernel set for every rank on every machine (issue 28; docs/platform.md "BLAS
/// kernels: the same bits on every machine").
///
/// OpenBLAS (Debian's is a DYNAMIC_ARCH build) picks its kernels for the CPU it finds, and the
/// sets round differently: at 70% sparsity the differences grow into different masks, so the
/// same command gave perplexity 729 on an AVX-512 machine and 767 with the Haswell kernels. The
/// choice is read from `OPENBLAS_CORETYPE` by the library's load-time constructor, before `main`,
/// so it cannot be changed from inside the process: `pinBeforeStart` sets the variable and
/// replaces the process with itself (`execv` of `/proc/self/exe`: same pid, same arguments, same
/// inherited descriptors, so hydra, Slurm and a shell see nothing but a process that started
/// ~one exec later). It runs before MPI starts, so nothing of MPI's has to survive the exec.
///
/// `OWLPRUNE_BLAS_CORETYPE` selects: unset pins `Haswell` on x86-64 (AVX2+FMA: every x86-64 CPU
/// since 2013-15, and as fast as the native choice on the machines measured); `native` leaves
/// the choice to OpenBLAS (and to an `OPENBLAS_CORETYPE` the user set); any other value pins
/// that OpenBLAS core type (`Sandybridge`, `SkylakeX`, …). Elsewhere (aarch64) the default is
/// `native`: OpenBLAS's arm64 core names differ and were not measured.
package enum BLASKernels {
    package static let variable = "OWLPRUNE_BLAS_CORETYPE"
    /// Lets ranks with different kernel sets run one job (with a warning).
    package static let mixedVariable = "OWLPRUNE_ALLOW_MIXED_BLAS"

    #if arch(x86_64)
    package static let defaultCoreType: String? = "Haswell"
    #else
    package static let defaultCoreType: String? = nil
    #endif

    /// The kernel set asked for: nil for OpenBLAS's own choice.
    package static var requested: String? {
        let raw = (ProcessInfo.processInfo.environment[variable] ?? "").trimmingCharacters(in: .whitespaces)
        if raw.isEmpty { return defaultCoreType }
        return raw.lowercased() == "native" ? nil : raw
    }

    /// The `errno` of a failed re-exec, reported by `verify` (through the normal error path).
    nonisolated(unsafe) private static var execErrno: Int32?

    /// Sets `OPENBLAS_CORETYPE` to the requested set and restarts the process if the loaded
    /// OpenBLAS was initialised without it. Must run first in `main`, before MPI starts. Never
    /// fails here: a failure is remembered and reported by `verify`, after MPI is up, so a
    /// multi-host job still leaves through `MPI_Abort` (docs/platform.md "Failure and abort").
    package static func pinBeforeStart() {
        guard let name = requested, isCoreTypeName(name) else { return }
        let current = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? ""
        // Already started with it (the restarted process, or a user who set it): nothing to do.
        if current.lowercased() == name.lowercased() { return }
        setenv("OPENBLAS_CORETYPE", name, 1)
        #if os(Linux)
        let path = "/proc/self/exe"
        #else
        let path = Bundle.main.executablePath ?? CommandLine.arguments[0]
        #endif
        execv(path, CommandLine.unsafeArgv)
        execErrno = errno  // only reached when the exec failed
    }

    /// OpenBLAS core type names are letters, digits and underscores ("Haswell", "Opteron_SSE3").
    package static func isCoreTypeName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
    }

    /// CPU features a pinned kernel set needs, for the sets whose needs are known: running them
    /// without would die of SIGILL in the first product, far from the cause.
    package static func missingFeatures(for name: String) -> [String] {
        #if arch(x86_64)
        let have = owlprune_cpu_features()
        let needs: [(String, UInt32)]
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": needs = [("AVX-512F", 8)]
        case "haswell", "zen": needs = [("AVX2", 2), ("FMA", 4)]
        case "sandybridge": needs = [("AVX", 1)]
        default: needs = []
        }
        return needs.filter { have & $0.1 == 0 }.map(\.0)
        #else
        return []
        #endif
    }

    /// Checks that OpenBLAS runs the requested kernels and that this CPU can run the kernels in
    /// use (under `native` too: an `OPENBLAS_CORETYPE=SkylakeX` on a CPU without AVX-512 dies of
    /// SIGILL, exit 132, in the first product).
    package static func verify() throws {
        let raw = ProcessInfo.processInfo.environment[variable] ?? ""
        if let name = requested, !isCoreTypeName(name) {
            throw BLASKernelError(message: "\(variable)=\(raw): not an OpenBLAS core type (letters, digits and _, e.g. Haswell), nor native")
        }
        let inUse = requested ?? BLASLibrary.current.coreType
        let missing = missingFeatures(for: inUse)
        if !missing.isEmpty {
            let how = requested == nil ? "OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "")"
                : raw.isEmpty ? "owlprune pins them so that results are the same on every machine" : "\(variable)=\(raw)"
            let fix = requested == nil ? "unset OPENBLAS_CORETYPE" : "set \(variable)=native"
            throw BLASKernelError(message: "this CPU has no \(missing.joined(separator: ", ")), which OpenBLAS's \(inUse) kernels need (\(how)); \(fix) to use kernels this CPU runs (results then differ from other machines', docs/platform.md)")
        }
        guard let name = requested else { return }
        let blas = BLASLibrary.current
        guard blas.coreType.lowercased() != name.lowercased() else { return }
        if let e = execErrno {
            throw BLASKernelError(message: "cannot restart with OPENBLAS_CORETYPE=\(name) to pin OpenBLAS's kernels: \(String(cString: strerror(e))); set \(variable)=native to run without pinning")
        }
        throw BLASKernelError(message: "OpenBLAS runs its \(blas.coreType) kernels, not the \(name) kernels requested (\(blas.config)): this OpenBLAS does not offer them on this CPU; set \(variable)=native, or to a core type it offers")
    }

    /// Every rank's kernel set and host, gathered at start-up: ranks that disagree would compute
    /// their windows' statistics with different rounding, and the result would depend on which
    /// rank runs where. Refused unless `OWLPRUNE_ALLOW_MIXED_BLAS=1`, then rank 0 warns.
    package static func requireAgreement(_ comm: Communicator) throws {
        let mine = BLASLibrary.current.coreType + "\t" + comm.processorName + "\n"
        let bytes = try comm.allgather(Array(mine.utf8))
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1) }
        let cores = lines.map { String($0.first ?? "") }
        guard Set(cores).count > 1 else { return }
        let hosts = lines.map { $0.count > 1 ? String($0[1]) : "?" }
        let mix = describeMix(cores: cores, hosts: hosts)
        let allowed = ProcessInfo.processInfo.environment[mixedVariable].map { $0 == "1" || $0.lowercased() == "true" } ?? false
        guard allowed else {
            throw BLASKernelError(message: "ranks run different OpenBLAS kernels: \(mix); results would depend on which rank runs where: pin one set (leave \(variable) unset, or the same on every node) or set \(mixedVariable)=1 to run anyway")
        }
        if comm.rank == 0 {
            Console.error("owlprune: warning: ranks run different OpenBLAS kernels: \(mix); results depend on which rank runs where (\(mixedVariable)=1)\n")
        }
    }

    /// "Haswell on node1 (ranks 0, 1), SkylakeX on node2 (rank 2)", in rank order.
    package static func describeMix(cores: [String], hosts: [String]) -> String {
        var groups: [(core: String, host: String, ranks: [Int])] = []
        for (rank, (core, host)) in zip(cores, hosts).enumerated() {
            if let i = groups.firstIndex(where: { $0.core == core && $0.host == host }) { groups[i].ranks.append(rank) }
            else { groups.append((core, host, [rank])) }
        }
        return groups.map { g in
            "\(g.core) on \(g.host) (rank\(g.ranks.count > 1 ? "s" : "") \(g.ranks.map(String.init).joined(separator: ", ")))"
        }.joined(separator: ", ")
    }
}

package struct BLASKernelError: Error, LocalizedError {
    package let message: String
    package var errorDescription: String? { message }
}
