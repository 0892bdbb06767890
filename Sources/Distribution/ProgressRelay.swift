import Diagnostics
import Foundation
import MPIKit

/// Gets every rank's finished units to rank 0's `JobProgress`, so rank 0 shows the whole job in
/// the blocks split, where each rank works on its own blocks (or, in the dense pipeline, the last
/// rank finishes the windows).
///
/// A rank that finishes a unit sends rank 0 a two-number note `[pass, unit]` (non-blocking, a few
/// bytes, so it never waits for rank 0); rank 0 takes whatever notes have arrived each time it
/// reports or polls, and at the end of a pass waits until all units are in. That wait costs
/// nothing: rank 0 would wait at the plan agreement or the report gather anyway. Notes of one pass
/// all arrive before the next pass starts (rank 0 counts them), and messages between two ranks do
/// not overtake, so a note can never be counted in the wrong pass.
public final class ProgressRelay {
    public let comm: Communicator
    public let meter: JobProgress
    private var notes: [Request<Int64>] = []

    public init(comm: Communicator, meter: JobProgress) {
        self.comm = comm
        self.meter = meter
    }

    /// This rank finished `unit`. It is also the fault suite's kill point for the phases
    /// (`statistics: block 3`, 1-based, on the rank that finished it; see `FaultInjection`).
    public func finished(_ unit: Int) throws {
        FaultInjection.point("\(meter.phase): \(meter.unit) \(unit + 1)", rank: comm.rank)
        if comm.rank == 0 {
            meter.finished(unit)
            try poll()
        } else {
            notes.append(try comm.isend([Int64(meter.pass), Int64(unit)], to: 0, tag: MessageTag.progress))
        }
    }

    /// Rank 0: shows the notes that have arrived.
    public func poll() throws {
        guard comm.rank == 0 else { return }
        while let source = try comm.probe(tag: MessageTag.progress) {
            let note = try comm.recv(Int64.self, count: 2, from: source, tag: MessageTag.progress)
            precondition(Int(note[0]) == meter.pass, "progress note of pass \(note[0]) during pass \(meter.pass)")
            meter.finished(Int(note[1]))
        }
    }

    /// End of the pass: rank 0 waits for all `units`, the others for their notes to leave.
    public func finish() throws {
        if comm.rank == 0 {
            while meter.done < meter.units {
                try poll()
                if meter.done < meter.units {
                    // A wait like any other: a failed peer or a signal must be heard here too.
                    FailureNotice.stopIfPeerFailed()
                    StopSignal.checkpoint()
                    usleep(2_000)
                }
            }
        } else {
            for note in notes { _ = try note.wait() }
            notes = []
        }
    }
}
