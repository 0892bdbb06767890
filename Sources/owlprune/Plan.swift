import ArgumentParser
import Checkpoint
import Cluster
import Foundation
import Pruning
import Tensor

extension OwlPrune {
    /// `owlprune plan`: phase 1 only — statistics, the agreed plan, a table on stderr, the plan
    /// JSON on stdout or in a file. Cheap way to look at OWL's allocation before pruning.
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compute and show the layerwise sparsity plan only.")

        @Option(help: "Hugging Face checkpoint directory.") var model: String
        @Option(help: "Write the plan JSON here (default: stdout).") var out: String?
        @OptionGroup var method: MethodOptions
        @OptionGroup var calibration: CalibrationOptions
        @OptionGroup var memory: MemoryOptions

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            if let out {  // checked before any work, so a plan never overwrites an input
                try OutputPath.check(URL(fileURLWithPath: out), inputs: [("--model", URL(fileURLWithPath: model))]
                    + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
                       calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) }].compactMap { $0 })
            }
            let setup = try PruneSetup(model: model, method: method, calibration: calibration, comm: comm, memory: memory)
            let plan = try setup.makeJob().run(planOnly: true).plan
            guard comm.rank == 0 else { return }
            progress(PlanTable(plan: plan).render())
            let json = try plan.canonicalJSON()
            if let out {
                try json.write(to: URL(fileURLWithPath: out), options: .atomic)
            } else {
                printResult(String(decoding: json, as: UTF8.self))
            }
        }
    }
}
