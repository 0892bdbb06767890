import Cluster

extension PruneArguments {
    /// The command line as typed values, for the report; `prune` and every `sweep` cell record
    /// their flags the same way.
    init(method: MethodOptions, calibration: CalibrationOptions, model: String, out: String, split: String?, threads: Int?) {
        let owl = method.allocation == .owl
        self.init(
            model: model, out: out, sparsity: method.sparsity, method: method.method.rawValue, allocation: method.allocation.rawValue,
            pattern: method.pattern.description, propagation: method.propagation.rawValue, split: split, threads: threads,
            nsamples: calibration.nsamples, seqlen: calibration.seqlen, seed: calibration.seed, damp: method.damp,
            owlM: owl ? method.owlM : nil, owlLambda: owl ? method.owlLambda : nil, atpBeta: method.atpBeta.flatMap(Double.init),
            calib: calibration.calib, calibTokens: calibration.calibTokens,
            dsnot: method.dsnot ? .init(signConstraint: method.dsnotSignConstraint.isOn, allLayers: method.dsnotAllLayers) : nil,
            dass: method.dass)
    }
}
