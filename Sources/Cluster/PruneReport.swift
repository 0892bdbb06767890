import CBLAS
import Foundation
import Pruning

/// `owlprune-report.json`: what a prune did, typed end to end (numbers are numbers), written by
/// rank 0 from every rank's `RankReport`. Keys are snake_case (`JSONEncoder.keyEncodingStrategy`).
public struct PruneReport: Codable, Sendable {
    /// The owlprune release that wrote the report, and the report layout's own version.
    public static let toolVersion = "0.9.0"
    public static let formatVersion = 2

    public var owlpruneVersion = Self.toolVersion
    public var reportVersion = Self.formatVersion
    /// ISO 8601, UTC.
    public var startedAt: String
    public var finishedAt: String
    public var wallSeconds: Double
    public var method: String
    public var pattern: String
    public var targetSparsity: Double
    public var achievedSparsity: Double
    public var arguments: PruneArguments
    public var ranks: Int
    public var propagation: String
    public var split: String
    public var calibration: Calibration
    public var linears: [Linear]
    public var perRank: [RankReport]
    /// Every warning the run printed (`PruneWarnings`); nil in reports older than issue 13.
    public var warnings: [String]?
    /// `--remove-by` (issue 12 item 6): the blocks removed before pruning, with every block's score.
    public var blockRemoval: BlockRemovalResult?
    /// `--remove-by streamline --replacement layer` (issue 24): the training of block b (losses,
    /// times, the state kept), as a depth-only run's report holds it.
    public var streamlineTraining: StreamlineTrainingLog?
    /// The BLAS library and kernel set rank 0 ran (issue 28): the numbers a report holds are
    /// reproducible on another machine only with the same kernels. Nil in older reports.
    public var blas: BLASLibrary? = .current

    public struct Calibration: Codable, Sendable {
        public var windows: Int
        public var seqlen: Int
        public var tokensHash: String
        public var starts: [Int]?
    }

    public struct Linear: Codable, Sendable, Equatable {
        public var name: String
        public var plannedSparsity: Double
        public var pruned: Int
        public var rows: Int
        public var cols: Int
        public var total: Int
        public var achievedSparsity: Double

        init(_ o: LinearOutcome) {
            name = o.name
            plannedSparsity = o.plannedSparsity
            pruned = o.prunedCount
            rows = o.rows
            cols = o.cols
            total = o.total
            achievedSparsity = o.achievedSparsity
        }
    }

    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}

/// The command line of a prune as typed values, for the report (and to rerun it).
public struct PruneArguments: Codable, Sendable {
    public var model: String
    public var out: String
    public var sparsity: Double
    public var method: String
    public var allocation: String
    public var pattern: String
    public var propagation: String
    public var split: String?
    public var threads: Int?
    public var nsamples: Int
    public var seqlen: Int?
    public var seed: UInt64
    public var damp: Double
    public var owlM: Double?
    public var owlLambda: Double?
    public var atpBeta: Double?
    public var calib: String?
    public var calibTokens: String?
    public var dsnot: DSnoTArguments?
    public var dass: Bool
    // The settings below are recorded where they apply (issue 23 item 1: the report records every
    // setting of the run request, derived from it in one place, `PruneArguments(request:)`); nil
    // where they do not, so they are absent from the JSON and older reports still decode.
    /// `--update admm` and its settings.
    public var update: String? = nil
    public var admmIterations: Int? = nil
    public var admmMaskSteps: Int? = nil
    public var admmRho: Double? = nil
    public var admmDamp: Double? = nil
    /// `--atp-beta auto`: the grid the β was chosen on (the chosen β is the plan's `atp_beta`).
    public var atpGridPoints: Int? = nil
    public var atpHeldoutWindows: Int? = nil
    public var dlpAlpha: Double? = nil
    public var alphaEpsilon: Double? = nil
    public var alphaFit: String? = nil
    public var dassScope: String? = nil
    /// How the output was written and what memory the run was allowed, as typed.
    public var dtype: String? = nil
    public var maxShardSize: String? = nil
    public var maxMemory: String? = nil
    /// `--remove-by`: the blocks removed before pruning, and LLM-Streamline's replacement and training.
    public var removeBlocks: Int? = nil
    public var removeBy: String? = nil
    public var replacement: String? = nil
    public var trainEpochs: Int? = nil
    public var trainBatch: Int? = nil
    public var trainLR: Double? = nil
    public var trainHeldoutWindows: Int? = nil

    public struct DSnoTArguments: Codable, Sendable {
        public var signConstraint: Bool
        public var allLayers: Bool
        public init(signConstraint: Bool, allLayers: Bool) {
            self.signConstraint = signConstraint
            self.allLayers = allLayers
        }
    }

    public init(model: String, out: String, sparsity: Double, method: String, allocation: String, pattern: String,
                propagation: String, split: String?, threads: Int?, nsamples: Int, seqlen: Int?, seed: UInt64, damp: Double,
                owlM: Double?, owlLambda: Double?, atpBeta: Double?, calib: String?, calibTokens: String?,
                dsnot: DSnoTArguments?, dass: Bool) {
        self.model = model
        self.out = out
        self.sparsity = sparsity
        self.method = method
        self.allocation = allocation
        self.pattern = pattern
        self.propagation = propagation
        self.split = split
        self.threads = threads
        self.nsamples = nsamples
        self.seqlen = seqlen
        self.seed = seed
        self.damp = damp
        self.owlM = owlM
        self.owlLambda = owlLambda
        self.atpBeta = atpBeta
        self.calib = calib
        self.calibTokens = calibTokens
        self.dsnot = dsnot
        self.dass = dass
    }
}

/// One rank's part of the report.
public struct RankReport: Codable, Sendable {
    public var rank: Int
    public var host: String
    /// The blocks whose shard this rank wrote, [lower, upper).
    public var blocks: [Int]
    /// The windows this rank held in the windows split, [lower, upper).
    public var windows: [Int]
    public var peakRssBytes: Int
    public var memoryBudget: Budget
    public var busySeconds: Double
    public var idleSeconds: Double
    public var commSeconds: Double
    public var solveSeconds: Double
    public var bytesSent: Int
    public var threads: Int
    public var resumedBlocks: [Int]
    public var phaseSeconds: PhaseTimes
    /// OpenBLAS's kernel set on this rank (issue 28). Every rank's is the same unless
    /// `OWLPRUNE_ALLOW_MIXED_BLAS=1` let a mixed job run; nil in older reports.
    public var blasCoreType: String? = BLASLibrary.current.coreType

    public struct Budget: Codable, Sendable {
        public var blockBytes: Int
        /// One block's working set while it is solved (`MemoryBudget.workingBytes`); the bound
        /// counts the larger of it and `blockBytes × blockFactor` (nil in reports from before).
        public var workingBytes: Int?
        public var activationBytes: Int
        public var statisticsBytes: Int
        public var blockFactor: Double
        /// Resident memory when the job began (nil in reports from before issue 29).
        public var baselineBytes: Int?
        public var boundBytes: Int
        public var peakWithinBound: Bool
    }
}

/// What a rank sends rank 0 for the report: its `RankReport` and its blocks' linears.
struct RankFragment: Codable {
    var rank: RankReport
    var linears: [PruneReport.Linear]
}

/// Which BLAS library and kernel set a process runs (issue 28, docs/platform.md "BLAS kernels: the
/// same bits on every machine"). OpenBLAS picks its kernels for the CPU it finds unless
/// `OPENBLAS_CORETYPE` names a set, and different sets round differently: the report records
/// what produced its numbers so a reader can rerun them with the same kernels.
public struct BLASLibrary: Codable, Sendable, Equatable {
    /// Library and version, "OpenBLAS 0.3.21".
    public var library: String
    /// OpenBLAS's build line (`openblas_get_config()`): DYNAMIC_ARCH or a fixed target, threads.
    public var config: String
    /// The kernel set in use (`openblas_get_corename()`), e.g. "Haswell".
    public var coreType: String
    /// True when `OPENBLAS_CORETYPE` chose the kernels (owlprune's default pin, or the user's
    /// under `OWLPRUNE_BLAS_CORETYPE=native`); false when OpenBLAS chose them for this CPU.
    public var pinned: Bool

    public static var current: BLASLibrary {
        let config = String(cString: openblas_get_config())
        let words = config.split(separator: " ")
        let env = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? ""
        return BLASLibrary(library: words.prefix(2).joined(separator: " "), config: config,
                           coreType: String(cString: openblas_get_corename()), pinned: !env.isEmpty)
    }

    /// One line for `--version` and logs: "OpenBLAS 0.3.21, Haswell kernels (pinned)".
    public var summary: String { "\(library), \(coreType) kernels (\(pinned ? "pinned" : "OpenBLAS's choice for this CPU"))" }
}
