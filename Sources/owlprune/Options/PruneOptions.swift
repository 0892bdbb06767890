import ArgumentParser
import Cluster
import Foundation
import Pruning

/// Flags that decide what a pruning run computes; shared by `prune` and `plan`. Problems fail in
/// `validate()`, before any file is read or any rank does work.
struct MethodOptions: ParsableArguments {
    @Option(help: "Target mean sparsity s, 0 ≤ s < 1 (ignored for N:M patterns, which fix N/M).")
    var sparsity: Double = 0.5

    @Option(help: "Mask method (shortgpt, sleb and streamline remove whole blocks, with --remove-blocks K).")
    var method: MethodName = .wanda

    @Option(help: "Layerwise allocation.")
    var allocation: AllocationName = .uniform

    @Option(name: .customLong("owl-m"), help: "OWL outlier threshold multiple M (OWL README default 5).")
    var owlM: Double = 5

    @Option(name: .customLong("owl-lambda"), help: "OWL sparsity spread λ (default 0.08).")
    var owlLambda: Double = 0.08

    @Option(name: .customLong("atp-beta"), help: "ATP common difference β, or auto: the best of a grid by held-out calibration NLL (prune only; required with --allocation atp).")
    var atpBeta: String?

    @Option(name: .customLong("atp-grid-points"), help: "--atp-beta auto: grid points k·β_max/P, k = 1…P (default 8).")
    var atpGridPoints: Int = 8

    @Option(name: .customLong("atp-heldout-windows"), help: "--atp-beta auto: held-out windows of --seqlen tokens cut from the end of --calib, never sampled (default 4).")
    var atpHeldoutWindows: Int = 4

    @Option(name: .customLong("dlp-alpha"), help: "DLP spread α (ironartisan/DLP default 0.15).")
    var dlpAlpha: Double = DLP.defaultAlpha

    @Option(name: .customLong("alpha-epsilon"), help: "AlphaPruning sparsity range ±ε (haiquanlu/AlphaPruning default 0.3).")
    var alphaEpsilon: Double = AlphaPruning.defaultEpsilon

    @Option(name: .customLong("alpha-fit"), help: "AlphaPruning x_min choice: peak (alpha_peak) or mid (alpha_mid).")
    var alphaFit: AlphaPruning.Fit = .peak

    @Option(help: "unstructured | N:M (e.g. 2:4, 4:8)")
    var pattern: SparsityPattern = .unstructured

    @Flag(help: "Refine masks with DSnoT (docs/algorithms.md §9).")
    var dsnot = false

    @Option(name: .customLong("dsnot-sign-constraint"), help: "off reproduces zyxxmu/DSnoT's unstructured runs.")
    var dsnotSignConstraint: OnOff = .on

    @Flag(name: .customLong("dsnot-all-layers"), help: "Refine all seven linears (default: attention only, as zyxxmu/DSnoT).")
    var dsnotAllLayers = false

    @Flag(help: "DaSS metric for the GLU MLP linears (Wanda only).")
    var dass = false

    @Option(name: .customLong("dass-scope"), help: "mlp (guozhiyu/glu_dass: attention stays dense) or all (attention pruned with Wanda).")
    var dassScope: DaSSOptions.Scope = .mlp

    @Option(help: "SparseGPT relative damping (fraction of mean diag H).")
    var damp: Double = 0.01

    @Option(help: "Weight update after the mask: admm is fmfi-compbio/admm-pruning's (with sparsegpt ADMM picks its own mask).")
    var update: WeightUpdate = .none

    @Option(name: .customLong("admm-iterations"), help: "ADMM iterations (reference default 20).")
    var admmIterations: Int = ADMMOptions().iterations

    @Option(name: .customLong("admm-mask-steps"), help: "Iterations during which ADMM re-selects its own mask (reference 15).")
    var admmMaskSteps: Int = ADMMOptions().maskSteps

    @Option(name: .customLong("admm-rho"), help: "ADMM penalty ρ, constant as in the reference (1).")
    var admmRho: Double = ADMMOptions().rho

    @Option(name: .customLong("admm-damp"), help: "ADMM relative damping of the normalised Hessian (reference prune_admm 0.1).")
    var admmDamp: Double = ADMMOptions().percdamp

    @Option(help: "sequential (as the references: each block sees the pruned blocks before it) or dense.")
    var propagation: Propagation = .sequential

    /// `--allocation atp --atp-beta auto` (issue 12 item 5).
    var atpAuto: Bool { allocation == .atp && atpBeta == "auto" }

    /// nil only for `atp` without a numeric β, which `validate` refuses.
    var parsedAllocation: Allocation? {
        switch allocation {
        case .uniform: .uniform
        case .owl: .owl(m: owlM, lambda: owlLambda)
        // `auto` stands at β = 0 until `ATPBetaSearch` replaces it with the chosen β.
        case .atp: atpAuto ? .atp(beta: 0) : atpBeta.flatMap(Double.init).map { .atp(beta: $0) }
        case .dlp: .dlp(alpha: dlpAlpha)
        case .alpha: .alpha(epsilon: alphaEpsilon, fit: alphaFit)
        }
    }

    func validate() throws {
        guard sparsity.isFinite, sparsity >= 0, sparsity < 1 else {
            throw ValidationError("--sparsity \(sparsity): must be in [0, 1)")
        }
        // shortgpt | sleb remove whole blocks (DepthOptions, `prune --remove-blocks K`); the rest does not apply.
        if method.pruning == nil { return }
        if case let .nOfM(n, m) = pattern, !(n >= 1 && n < m) {
            throw ValidationError("--pattern \(pattern): need 1 ≤ N < M")
        }
        if allocation == .atp && atpBeta == nil { throw ValidationError("--allocation atp needs --atp-beta") }
        if allocation == .atp, let b = atpBeta, b != "auto", Double(b) == nil {
            throw ValidationError("--atp-beta \(b): expected a number or auto")
        }
        guard atpGridPoints >= 1 else { throw ValidationError("--atp-grid-points \(atpGridPoints): must be at least 1") }
        guard atpHeldoutWindows >= 1 else { throw ValidationError("--atp-heldout-windows \(atpHeldoutWindows): must be at least 1") }
        guard owlM.isFinite, owlM > 0 else { throw ValidationError("--owl-m \(owlM): must be positive") }
        guard owlLambda.isFinite, owlLambda >= 0 else { throw ValidationError("--owl-lambda \(owlLambda): must be ≥ 0") }
        guard dlpAlpha.isFinite, dlpAlpha >= 0 else { throw ValidationError("--dlp-alpha \(dlpAlpha): must be ≥ 0") }
        guard alphaEpsilon.isFinite, alphaEpsilon >= 0, alphaEpsilon < 1 else {
            throw ValidationError("--alpha-epsilon \(alphaEpsilon): must be in [0, 1)")
        }
        guard admmIterations >= 0, admmMaskSteps >= 0 else { throw ValidationError("--admm-iterations/--admm-mask-steps: must be ≥ 0") }
        guard admmRho.isFinite, admmRho > 0 else { throw ValidationError("--admm-rho \(admmRho): must be positive") }
        guard admmDamp.isFinite, admmDamp >= 0 else { throw ValidationError("--admm-damp \(admmDamp): must be ≥ 0") }
        guard damp.isFinite, damp > 0 else { throw ValidationError("--damp \(damp): must be positive") }
    }

    func configuration(modelID: String, seed: UInt64?) -> PruneConfiguration {
        var options = PruningOptions(percdamp: damp)
        if dsnot {
            var d = DSnoTOptions()
            d.signConstraint = dsnotSignConstraint.isOn
            d.refineMLP = dsnotAllLayers
            options.dsnot = d
        }
        if dass { options.dass = DaSSOptions(scope: dassScope) }
        if update == .admm {
            options.admm = ADMMOptions(iterations: admmIterations, maskSteps: admmMaskSteps, rho: admmRho, percdamp: admmDamp)
        }
        return PruneConfiguration(method: method.pruning!, pattern: pattern, sparsity: sparsity,
                                  allocation: parsedAllocation!, propagation: propagation,
                                  options: options, modelID: modelID, seed: seed)
    }
}

/// Where the calibration windows come from (docs/algorithms.md §2).
struct CalibrationOptions: ParsableArguments {
    @Option(help: "Calibration text; windows are drawn from its tokens with SplitMix64.", completion: .file())
    var calib: String?

    @Option(name: .customLong("calib-tokens"), help: "Pre-tokenized windows: nsamples × seqlen little-endian uint32 ids.")
    var calibTokens: String?

    @Option(help: "Number of calibration windows N.")
    var nsamples: Int = 128

    @Option(help: "Window length L (default: min(2048, max_position_embeddings)).")
    var seqlen: Int?

    @Option(help: "SplitMix64 seed of the window starts.")
    var seed: UInt64 = 0

    /// `--nsamples × --seqlen` ids (8 bytes each in memory) must be countable: the windows are
    /// one array of that many ids, and the product otherwise traps (issue 10 item 1).
    static func checkTokenCount(nsamples: Int, seqlen: Int) throws {
        let (tokens, overflow) = nsamples.multipliedReportingOverflow(by: seqlen)
        guard !overflow, !tokens.multipliedReportingOverflow(by: 8).overflow else {
            throw ValidationError("--nsamples \(nsamples) × --seqlen \(seqlen) tokens overflow a 64-bit count")
        }
    }

    func validate() throws {
        guard (calib == nil) != (calibTokens == nil) else {
            throw ValidationError("give exactly one of --calib FILE or --calib-tokens FILE.ids")
        }
        guard nsamples >= 1 else { throw ValidationError("--nsamples \(nsamples): must be at least 1") }
        if let s = seqlen, s < 2 { throw ValidationError("--seqlen \(s): a window needs at least 2 tokens") }
        if let s = seqlen { try Self.checkTokenCount(nsamples: nsamples, seqlen: s) }
    }
}
