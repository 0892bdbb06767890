import ArgumentParser

/// Where and how `prune` writes its Hugging Face directory.
package struct OutputOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: [.short, .long], help: ArgumentHelp("Output directory (written as OUT.tmp-<runid>, renamed when complete).", valueName: "dir"),
            completion: .directory)
    package var out: String

    @Flag(help: "Replace an existing output directory.")
    package var force = false

    @Flag(help: "Reuse blocks finished by an interrupted run (journal in OUT.partial/) when there are any, start from the first block otherwise (so a requeued batch job can always pass it; `--resume auto` is the same). With --replacement layer: continue the training from its last finished step (journal in OUT.streamline-training/). A journal of other settings or weights is refused.")
    package var resume = false
}
