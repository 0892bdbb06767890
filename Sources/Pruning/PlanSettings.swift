/// Every method option that changes the pruned bits, written into `owlprune-plan.json` under
/// `"settings"` (issue: a published number must trace to its exact settings). Only the options
/// that the run's method actually reads are present, so a plan never claims a setting it ignored.
public struct PlanSettings: Sendable, Equatable, Codable {
    /// SparseGPT's relative damping (`--damp`): its solver, or its metric under DSnoT.
    public var sparsegptDamp: Double?
    /// RIA's activation exponent `a` (fixed at the reference's 0.5).
    public var riaExponent: Double?
    /// DSnoT's cycle limit, threshold, variance exponent, sign constraint and layer scope.
    public var dsnot: DSnoTOptions?
    /// DaSS's norm exponent.
    public var dass: DaSSOptions?
    /// ADMM's iterations, mask steps, ρ and damping (`--update admm`), and whether it chose its own mask.
    public var admm: ADMMOptions?
    public var admmOwnMask: Bool?
    /// SparseGPT's column block size (fixed at the reference's 128, but it decides the bits).
    public var sparsegptBlocksize: Int?
    /// `--propagation` (sequential or dense): which inputs the statistics see (§3.5). Set by the
    /// job, which owns the propagation (issue 12 item 8).
    public var propagation: String?
    /// The calibration windows' count and length (their tokens are in `windows_hash`).
    public var calibrationWindows: Int?
    public var calibrationLength: Int?
    /// `--atp-beta auto`: the grid, its held-out scores and the β chosen (issue 12 item 5).
    public var atpBetaGrid: ATPBetaGrid?

    enum CodingKeys: String, CodingKey {
        case sparsegptDamp = "sparsegpt_damp", riaExponent = "ria_exponent", dsnot, dass, admm
        case admmOwnMask = "admm_own_mask", sparsegptBlocksize = "sparsegpt_blocksize", propagation
        case calibrationWindows = "calibration_windows", calibrationLength = "calibration_length"
        case atpBetaGrid = "atp_beta_grid"
    }

    public init(method: PruningMethod, options: PruningOptions) {
        let readsSparseGPT = method == .sparsegpt && (options.admm == nil || options.dsnot != nil)
        sparsegptDamp = readsSparseGPT ? options.percdamp : nil
        sparsegptBlocksize = method == .sparsegpt && options.admm == nil && options.dsnot == nil ? options.blocksize : nil
        riaExponent = method == .ria ? Double(RIA.activationExponent) : nil
        dsnot = options.dsnot
        dass = options.dass
        admm = options.admm
        admmOwnMask = options.admm.map { _ in method == .sparsegpt && options.dsnot == nil }
    }
}
