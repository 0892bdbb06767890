import Diagnostics
import OwlPruneKit

/// How the command line shows a run's events (issue 23 item 2): each as lines on stderr, through
/// `progress`. The library sends them on rank 0 only.
enum CommandLineEvents {
    static func show(_ event: RunEvent) {
        switch event {
        case .progress(let line): progress(line)
        case .plan(let plan): progress(PlanTable(plan: plan).render())
        case .blocksChosen(let result): progress(DepthTable(result: result).render())
        case .warning(let line): progress(line)
        case .meter(let line): ProgressMeter.show(line)
        case .groupProgress(let line): Console.error(line + "\n")
        }
    }
}
