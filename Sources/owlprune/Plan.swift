import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Distribution
import Foundation
import Pruning
import Tensor

extension OwlPrune {
    /// `owlprune plan`: phase 1 only — statistics, the agreed plan, a table and every warning on
    /// stderr, the time and memory estimate per rank (`DryRun`), the plan JSON on stdout or in a
    /// file. Cheap way to look at OWL's allocation, and what the prune would cost, before pruning.
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute and show the layerwise sparsity plan and the run's time and memory estimate only.",
            discussion: "Same flags and --recipe as prune. Estimate model: docs/recipes.md \"Dry run\".")

        @OptionGroup(title: "Model") var model: ModelOptions
        @Option(name: [.short, .long], help: "Write the plan JSON here (default: stdout).") var out: String?
        @OptionGroup(title: "Recipe") var recipe: RecipeOptions
        @Option(name: [.short, .long], help: "Threads per rank (as prune), for the estimate.") var threads: Int?
        @Option(help: "windows or blocks (as prune), for the estimate.") var split: WorkSplit?
        @OptionGroup(title: "Method") var method: MethodOptions
        @OptionGroup(title: "Calibration") var calibration: CalibrationOptions
        @OptionGroup var memory: MemoryOptions
        @Flag(help: "Print one JSON object {plan, estimate} on stdout.") var json = false

        /// The command with its recipe's settings wherever no flag was typed (issue 23 item 1);
        /// a plan writes no model and removes no blocks, so the output and depth settings are not read.
        func withRecipe() throws -> Plan {
            var p = self
            let r = try recipe.load().request
            p.model.givenModel = p.model.givenModel ?? r.model
            p.method.fill(from: r)
            p.calibration.fill(from: r)
            p.threads = p.threads ?? r.threads
            p.split = p.split ?? r.split
            p.memory.maxMemory = p.memory.maxMemory ?? r.maxMemory
            return p
        }

        func validate() throws {

            guard !ParseOnly.active else { return }
            try withRecipe().check()
        }

        func check() throws {
            try model.check()
            try method.check()
            try calibration.check()
            if let t = threads, t < 1 { throw ValidationError("--threads \(t): must be at least 1") }
            if DepthOptions.isDepthMethod(method.method) {
                throw ValidationError("--method \(method.method): depth pruning runs in owlprune prune --remove-blocks K (its plan is written there)")
            }
        }

        func run() throws { try withRecipe().execute() }

        private func execute() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            if let out {  // checked before any work, so a plan never overwrites an input
                try OutputPath.check(URL(fileURLWithPath: out), inputs: [("--model", URL(fileURLWithPath: model.model))]
                    + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
                       calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) }].compactMap { $0 })
            }
            let setup = try PruneSetup(model: model.model, method: method, calibration: calibration, comm: comm,
                                       threads: threads, split: split, overrides: try recipe.overrides(),
                                       events: CommandLineEvents.show)
            guard let result = try DryRun(setup: setup, threads: threads, split: split).run(memory: memory) else { return }
            progress(DryRun.render(result.estimate))
            let planJSON = try result.plan.canonicalJSON()
            if let out {
                let url = URL(fileURLWithPath: out)
                try AtomicFile.write(planJSON, to: url)
                // The picture beside the plan file (no --out, no file: stdout holds only the JSON).
                let picture = url.deletingLastPathComponent().appendingPathComponent(PlanPicture.fileName)
                try AtomicFile.write(PlanPicture(plan: result.plan, achieved: nil,
                                                 title: URL(fileURLWithPath: model.model).lastPathComponent).data, to: picture)
                progress("plan picture: \(picture.path)")
            }
            if json {
                printResult(try DryRun.json(result))
            } else if out == nil {
                printResult(String(decoding: planJSON, as: UTF8.self))
            }
        }
    }
}
