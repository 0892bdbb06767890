import ArgumentParser
import Cluster
import Foundation
import Pruning

/// Flags that decide what a pruning run computes; shared by `prune` and `plan`. Each is stored
/// as given (nil: not typed), so a recipe's value fills what the command line left unset
/// (`fill(from:)`, issue 23 item 1); the unprefixed properties are the values in effect, the
/// default where neither gave one. Problems fail in `check()`, run on the merged values before any
/// file is read or any rank does work.
package struct MethodOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: .customLong("sparsity"), help: "Target mean sparsity s, 0 ≤ s < 1 (ignored for N:M patterns, which fix N/M). (default: 0.5)")
    package var givenSparsity: Double?
    package var sparsity: Double { get { givenSparsity ?? 0.5 } set { givenSparsity = newValue } }

    @Option(name: .customLong("method"), help: "Mask method (shortgpt, sleb and streamline remove whole blocks, with --remove-blocks K). (default: wanda)")
    package var givenMethod: MethodName?
    package var method: MethodName { get { givenMethod ?? .wanda } set { givenMethod = newValue } }

    @Option(name: .customLong("allocation"), help: "Layerwise allocation. (default: uniform)")
    package var givenAllocation: AllocationName?
    package var allocation: AllocationName { get { givenAllocation ?? .uniform } set { givenAllocation = newValue } }

    @Option(name: .customLong("owl-m"), help: "OWL outlier threshold multiple M (OWL README default 5). (default: 5.0)")
    package var givenOwlM: Double?
    package var owlM: Double { get { givenOwlM ?? 5 } set { givenOwlM = newValue } }

    @Option(name: .customLong("owl-lambda"), help: "OWL sparsity spread λ (default 0.08). (default: 0.08)")
    package var givenOwlLambda: Double?
    package var owlLambda: Double { get { givenOwlLambda ?? 0.08 } set { givenOwlLambda = newValue } }

    @Option(name: .customLong("atp-grid-points"), help: "--atp-beta auto: grid points k·β_max/P, k = 1…P (default 8). (default: 8)")
    package var givenAtpGridPoints: Int?
    package var atpGridPoints: Int { get { givenAtpGridPoints ?? 8 } set { givenAtpGridPoints = newValue } }

    @Option(name: .customLong("atp-heldout-windows"), help: "--atp-beta auto: held-out windows of --seqlen tokens cut from the end of --calib, never sampled (default 4). (default: 4)")
    package var givenAtpHeldoutWindows: Int?
    package var atpHeldoutWindows: Int { get { givenAtpHeldoutWindows ?? 4 } set { givenAtpHeldoutWindows = newValue } }

    @Option(name: .customLong("dlp-alpha"), help: "DLP spread α (ironartisan/DLP default 0.15). (default: \(DLP.defaultAlpha))")
    package var givenDlpAlpha: Double?
    package var dlpAlpha: Double { get { givenDlpAlpha ?? DLP.defaultAlpha } set { givenDlpAlpha = newValue } }

    @Option(name: .customLong("alpha-epsilon"), help: "AlphaPruning sparsity range ±ε (haiquanlu/AlphaPruning default 0.3). (default: \(AlphaPruning.defaultEpsilon))")
    package var givenAlphaEpsilon: Double?
    package var alphaEpsilon: Double { get { givenAlphaEpsilon ?? AlphaPruning.defaultEpsilon } set { givenAlphaEpsilon = newValue } }

    @Option(name: .customLong("alpha-fit"), help: "AlphaPruning x_min choice: peak (alpha_peak) or mid (alpha_mid). (default: peak)")
    package var givenAlphaFit: AlphaPruning.Fit?
    package var alphaFit: AlphaPruning.Fit { get { givenAlphaFit ?? .peak } set { givenAlphaFit = newValue } }

    @Option(name: .customLong("pattern"), help: "unstructured | N:M (e.g. 2:4, 4:8) (default: unstructured)")
    package var givenPattern: SparsityPattern?
    package var pattern: SparsityPattern { get { givenPattern ?? .unstructured } set { givenPattern = newValue } }

    @Option(name: .customLong("dsnot-sign-constraint"), help: "off reproduces zyxxmu/DSnoT's unstructured runs. (default: on)")
    package var givenDsnotSignConstraint: OnOff?
    package var dsnotSignConstraint: OnOff { get { givenDsnotSignConstraint ?? .on } set { givenDsnotSignConstraint = newValue } }

    @Option(name: .customLong("dass-scope"), help: "mlp (guozhiyu/glu_dass: attention stays dense) or all (attention pruned with Wanda). (default: mlp)")
    package var givenDassScope: DaSSOptions.Scope?
    package var dassScope: DaSSOptions.Scope { get { givenDassScope ?? .mlp } set { givenDassScope = newValue } }

    @Option(name: .customLong("damp"), help: "SparseGPT relative damping (fraction of mean diag H). (default: 0.01)")
    package var givenDamp: Double?
    package var damp: Double { get { givenDamp ?? 0.01 } set { givenDamp = newValue } }

    @Option(name: .customLong("update"), help: "Weight update after the mask: admm is fmfi-compbio/admm-pruning's (with sparsegpt ADMM picks its own mask). (default: none)")
    package var givenUpdate: WeightUpdate?
    package var update: WeightUpdate { get { givenUpdate ?? .none } set { givenUpdate = newValue } }

    @Option(name: .customLong("admm-iterations"), help: "ADMM iterations (reference default 20). (default: \(ADMMOptions().iterations))")
    package var givenAdmmIterations: Int?
    package var admmIterations: Int { get { givenAdmmIterations ?? ADMMOptions().iterations } set { givenAdmmIterations = newValue } }

    @Option(name: .customLong("admm-mask-steps"), help: "Iterations during which ADMM re-selects its own mask (reference 15). (default: \(ADMMOptions().maskSteps))")
    package var givenAdmmMaskSteps: Int?
    package var admmMaskSteps: Int { get { givenAdmmMaskSteps ?? ADMMOptions().maskSteps } set { givenAdmmMaskSteps = newValue } }

    @Option(name: .customLong("admm-rho"), help: "ADMM penalty ρ, constant as in the reference (1). (default: \(ADMMOptions().rho))")
    package var givenAdmmRho: Double?
    package var admmRho: Double { get { givenAdmmRho ?? ADMMOptions().rho } set { givenAdmmRho = newValue } }

    @Option(name: .customLong("admm-damp"), help: "ADMM relative damping of the normalised Hessian (reference prune_admm 0.1). (default: \(ADMMOptions().percdamp))")
    package var givenAdmmDamp: Double?
    package var admmDamp: Double { get { givenAdmmDamp ?? ADMMOptions().percdamp } set { givenAdmmDamp = newValue } }

    @Option(name: .customLong("propagation"), help: "sequential (as the references: each block sees the pruned blocks before it) or dense. (default: sequential)")
    package var givenPropagation: Propagation?
    package var propagation: Propagation { get { givenPropagation ?? .sequential } set { givenPropagation = newValue } }

    @Option(name: .customLong("atp-beta"), help: "ATP common difference β, or auto: the best of a grid by held-out calibration NLL (prune only; required with --allocation atp).")
    package var atpBeta: String?

    @Flag(help: "Refine masks with DSnoT (docs/algorithms.md §9).")
    package var dsnot = false

    @Flag(name: .customLong("dsnot-all-layers"), help: "Refine all seven linears (default: attention only, as zyxxmu/DSnoT).")
    package var dsnotAllLayers = false

    @Flag(help: "DaSS metric for the GLU MLP linears (Wanda only).")
    package var dass = false

    /// Takes the recipe's value of every setting the command line did not give.
    package mutating func fill(from r: RunRequest) {
        givenSparsity = givenSparsity ?? r.sparsity
        givenMethod = givenMethod ?? r.method
        givenAllocation = givenAllocation ?? r.allocation
        givenOwlM = givenOwlM ?? r.owlM
        givenOwlLambda = givenOwlLambda ?? r.owlLambda
        atpBeta = atpBeta ?? r.atpBeta
        givenAtpGridPoints = givenAtpGridPoints ?? r.atpGridPoints
        givenAtpHeldoutWindows = givenAtpHeldoutWindows ?? r.atpHeldoutWindows
        givenDlpAlpha = givenDlpAlpha ?? r.dlpAlpha
        givenAlphaEpsilon = givenAlphaEpsilon ?? r.alphaEpsilon
        givenAlphaFit = givenAlphaFit ?? r.alphaFit
        givenPattern = givenPattern ?? r.pattern
        dsnot = dsnot || r.dsnot == true
        givenDsnotSignConstraint = givenDsnotSignConstraint ?? r.dsnotSignConstraint
        dsnotAllLayers = dsnotAllLayers || r.dsnotAllLayers == true
        dass = dass || r.dass == true
        givenDassScope = givenDassScope ?? r.dassScope
        givenDamp = givenDamp ?? r.damp
        givenUpdate = givenUpdate ?? r.update
        givenAdmmIterations = givenAdmmIterations ?? r.admmIterations
        givenAdmmMaskSteps = givenAdmmMaskSteps ?? r.admmMaskSteps
        givenAdmmRho = givenAdmmRho ?? r.admmRho
        givenAdmmDamp = givenAdmmDamp ?? r.admmDamp
        givenPropagation = givenPropagation ?? r.propagation
    }

    /// `--allocation atp --atp-beta auto` (issue 12 item 5).
    package var atpAuto: Bool { allocation == .atp && atpBeta == "auto" }

    /// nil only for `atp` without a numeric β, which `validate` refuses.
    package var parsedAllocation: Allocation? {
        switch allocation {
        case .uniform: .uniform
        case .owl: .owl(m: owlM, lambda: owlLambda)
        // `auto` stands at β = 0 until `ATPBetaSearch` replaces it with the chosen β.
        case .atp: atpAuto ? .atp(beta: 0) : atpBeta.flatMap(Double.init).map { .atp(beta: $0) }
        case .dlp: .dlp(alpha: dlpAlpha)
        case .alpha: .alpha(epsilon: alphaEpsilon, fit: alphaFit)
        }
    }

    /// Not `validate()`: ArgumentParser would run that on the typed flags alone, before a
    /// recipe's values are merged (`--allocation atp` typed, `atp-beta` in the recipe).
    package func check() throws {
        try checkSparsity()
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

    package func checkSparsity() throws {
        guard sparsity.isFinite, sparsity >= 0, sparsity < 1 else {
            throw ValidationError("--sparsity \(sparsity): must be in [0, 1)")
        }
    }

    package func configuration(modelID: String, seed: UInt64?) -> PruneConfiguration {
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

