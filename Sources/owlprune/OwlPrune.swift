import OwlPruneKit
import ArgumentParser
import Diagnostics
import Foundation
import Tensor

/// The `owlprune` command. Subcommands are synchronous `ParsableCommand`s: MPI is initialised on
/// the main thread and every MPI call stays there (docs/style.md, CLI).
struct OwlPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owlprune",
        abstract: "One-shot pruning of LLaMA-family models across MPI ranks.",
        version: BuildInfo.versionLine,
        subcommands: [Prune.self, Plan.self, Eval.self, Convert.self, Inspect.self, Compare.self, Tokenize.self, Synth.self, Bench.self, Sweep.self])
}

@main
enum Main {
    static func main() {
        BLASKernels.pinBeforeStart()  // may restart the process: first, before MPI (issue 28)
        Runtime.installSignalHandlers()
        retainFreedBuffers()
        if Runtime.launchedByMPI {
            do { _ = try Runtime.communicator() } catch { Runtime.fail(error) }
        }
        if let problem = EnvironmentCheck.problem(in: ProcessInfo.processInfo.environment) {
            Runtime.fail(UsageError(message: problem), isUsage: true)
        }
        do { try BLASKernels.verify() } catch { Runtime.fail(error) }
        let command: ParsableCommand
        do {
            let (arguments, notes) = ArgumentAliases.rewrite(Array(CommandLine.arguments.dropFirst()))
            notes.forEach(progress)
            command = try OwlPrune.parse(arguments)
        } catch {
            // Help and version requests are not errors: print them and leave normally.
            if OwlPrune.exitCode(for: error) == .success { showHelp(error) }
            // One line in the same shape as every other error, under mpiexec or not.
            Runtime.fail(UsageError(message: UsageError.oneLine(OwlPrune.message(for: error))), isUsage: true)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch {
            // `owlprune help <cmd>` and `--help` surface here as a thrown help request.
            if OwlPrune.exitCode(for: error) == .success { showHelp(error) }
            Runtime.fail(error)
        }
        Runtime.finish()
    }
}

private func showHelp(_ error: Error) -> Never {
    printJobResult(OwlPrune.fullMessage(for: error))
    Runtime.finish()
    exit(0)
}

struct UsageError: Error, LocalizedError {
    let message: String
    var errorDescription: String? { message }

    /// ArgumentParser lists an enumeration's values one per line ("Please provide one of the
    /// following:\n  - wanda\n  - …"); errors here are one line, so the list becomes "one of: a, b".
    static func oneLine(_ message: String) -> String {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count > 1 else { return message }
        let items = lines.dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.allSatisfy({ $0.hasPrefix("- ") }) else { return message }
        let head = lines[0].replacingOccurrences(of: " one of the following:", with: " one of:")
        return head + " " + items.map { String($0.dropFirst(2)) }.joined(separator: ", ")
    }
}

extension OwlPrune {
    /// `parseAsRoot`, except that an argument nobody recognizes is reported before a failed check:
    /// swift-argument-parser runs `validate()` first, so `prune --modle m` said "Missing expected
    /// argument '--model <dir>'" instead of naming the typo. When the first parse fails, a second
    /// one with every check off (`ParseOnly`) decides: if it fails too, its error is the one about
    /// the arguments themselves (an unknown flag, a bad value) and is reported; if it succeeds,
    /// the check's error stands.
    static func parse(_ arguments: [String]) throws -> ParsableCommand {
        do {
            return try parseAsRoot(arguments)
        } catch {
            guard exitCode(for: error) != .success else { throw error }
            try ParseOnly.$active.withValue(true) { _ = try parseAsRoot(arguments) }
            throw error
        }
    }
}

