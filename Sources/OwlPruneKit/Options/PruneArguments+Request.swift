import Cluster

extension PruneArguments {
    /// The report's record of a run, derived from its request (issue 23 item 1) in this one place:
    /// `prune`, every `sweep` cell, every ATP grid point and `bench prune` describe their run as a
    /// `RunRequest` and record it here, so a setting added to the request reaches the report
    /// (`ReportArgumentsTests` fails for a recipe key that does not). Each setting is recorded with
    /// its effective value where it applies (`--owl-m` under OWL, `--admm-rho` under ADMM), and is
    /// absent where it does not, so a report says what shaped the output and nothing else.
    package init(request r: RunRequest, model: String, out: String) throws {
        var m = try MethodOptions.parse([])
        m.fill(from: r)
        var c = try CalibrationOptions.parse([])
        c.fill(from: r)
        var d = try DepthOptions.parse([])
        d.fill(from: r)
        let owl = m.allocation == .owl
        self.init(
            model: model, out: out, sparsity: m.sparsity, method: m.method.rawValue, allocation: m.allocation.rawValue,
            pattern: m.pattern.description, propagation: m.propagation.rawValue, split: r.split?.rawValue, threads: r.threads,
            nsamples: c.nsamples, seqlen: c.seqlen, seed: c.seed, damp: m.damp,
            owlM: owl ? m.owlM : nil, owlLambda: owl ? m.owlLambda : nil, atpBeta: m.atpBeta.flatMap(Double.init),
            calib: c.calib, calibTokens: c.calibTokens,
            dsnot: m.dsnot ? .init(signConstraint: m.dsnotSignConstraint.isOn, allLayers: m.dsnotAllLayers) : nil,
            dass: m.dass)
        if m.update == .admm {
            update = m.update.defaultValueDescription
            (admmIterations, admmMaskSteps, admmRho, admmDamp) = (m.admmIterations, m.admmMaskSteps, m.admmRho, m.admmDamp)
        }
        if m.atpAuto { (atpGridPoints, atpHeldoutWindows) = (m.atpGridPoints, m.atpHeldoutWindows) }
        if m.allocation == .dlp { dlpAlpha = m.dlpAlpha }
        if m.allocation == .alpha { (alphaEpsilon, alphaFit) = (m.alphaEpsilon, m.alphaFit.defaultValueDescription) }
        if m.dass { dassScope = m.dassScope.defaultValueDescription }
        (dtype, maxShardSize, maxMemory) = (r.dtype?.rawValue, r.maxShardSize?.text, r.maxMemory?.text)
        if let removal = d.removal(method: m.method) {
            (removeBlocks, removeBy) = (removal.1, removal.0.rawValue)
            replacement = d.effectiveReplacement(method: m.method)?.defaultValueDescription
            if let t = d.training(method: m.method, seed: c.seed, windows: c.nsamples) {
                (trainEpochs, trainBatch, trainLR, trainHeldoutWindows) = (t.epochs, t.batch, t.learningRate, t.heldoutWindows)
            }
        }
    }
}
