import ArgumentParser

/// The `owlprune` command. Subcommands are synchronous: MPI is initialised on the main thread by
/// the commands that need it, and every MPI call stays there (STYLE.md, CLI).
@main
struct OwlPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owlprune",
        abstract: "One-shot pruning of LLaMA-family models across MPI ranks.",
        subcommands: [])
}
