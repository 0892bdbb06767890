import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Pruning

/// What a run was asked to do (issue 23 item 1): every setting a `prune` or `plan` flag sets and a
/// recipe may hold, as typed values; nil means "not given" (the option's default then applies).
///
/// Flags and recipes fill the same type. A recipe decodes into it (`Codable`, through Yams'
/// `YAMLDecoder`, each value read by the same `ExpressibleByArgument` parser as its flag); the
/// command line's option groups hold the typed values, and `fill(from:)` on each group takes the
/// recipe's value for every setting the command line left unset, so a typed flag wins. The recipe
/// keys are `fields` — one entry per setting, naming its key (= its long flag) and its property —
/// so there is no second list to keep in sync: the unknown-key message, `FingerprintCoverageTests`
/// and the option groups' `fill` all read it.
package struct RunRequest: Codable {
    package var model: String?
    package var calib: String?
    package var calibTokens: String?
    package var nsamples: Int?
    package var seqlen: Int?
    package var seed: UInt64?
    package var method: MethodName?
    package var sparsity: Double?
    package var pattern: SparsityPattern?
    package var allocation: AllocationName?
    package var owlM: Double?
    package var owlLambda: Double?
    package var atpBeta: String?
    package var atpGridPoints: Int?
    package var atpHeldoutWindows: Int?
    package var dlpAlpha: Double?
    package var alphaEpsilon: Double?
    package var alphaFit: AlphaPruning.Fit?
    package var update: WeightUpdate?
    package var admmIterations: Int?
    package var admmMaskSteps: Int?
    package var admmRho: Double?
    package var admmDamp: Double?
    package var dsnot: Bool?
    package var dsnotSignConstraint: OnOff?
    package var dsnotAllLayers: Bool?
    package var dass: Bool?
    package var dassScope: DaSSOptions.Scope?
    package var damp: Double?
    package var propagation: Propagation?
    package var split: WorkSplit?
    package var threads: Int?
    package var maxMemory: ByteSize?
    package var dtype: DType?
    package var maxShardSize: ByteSize?
    package var removeBlocks: Int?
    package var removeBy: BlockRemovalMethod?
    package var replacement: StreamlineReplacement?
    package var trainEpochs: Int?
    package var trainBatch: Int?
    package var trainLR: Double?
    package var trainHeldoutWindows: Int?

    package init() {}

    /// One setting: its recipe key (the flag's long name), whether it is an on/off flag, and how
    /// its value is read, written and taken from another request.
    package struct Field {
        package let key: String
        package let isFlag: Bool
        fileprivate let decode: (inout RunRequest, KeyedDecodingContainer<AnyKey>, AnyKey) throws -> Void
        fileprivate let encode: (RunRequest, inout KeyedEncodingContainer<AnyKey>, AnyKey) throws -> Void
        /// Whether the request holds a value for it.
        package let isSet: (RunRequest) -> Bool
    }

    /// Every setting, in the order recipes list them (docs/recipes.md).
    package nonisolated(unsafe) static let fields: [Field] = [
        value("model", \.model), value("calib", \.calib), value("calib-tokens", \.calibTokens),
        value("nsamples", \.nsamples), value("seqlen", \.seqlen), value("seed", \.seed),
        value("method", \.method), value("sparsity", \.sparsity), value("pattern", \.pattern), value("allocation", \.allocation),
        value("owl-m", \.owlM), value("owl-lambda", \.owlLambda), value("atp-beta", \.atpBeta),
        value("atp-grid-points", \.atpGridPoints), value("atp-heldout-windows", \.atpHeldoutWindows),
        value("dlp-alpha", \.dlpAlpha),
        value("alpha-epsilon", \.alphaEpsilon), value("alpha-fit", \.alphaFit), value("update", \.update),
        value("admm-iterations", \.admmIterations), value("admm-mask-steps", \.admmMaskSteps),
        value("admm-rho", \.admmRho), value("admm-damp", \.admmDamp),
        flag("dsnot", \.dsnot), value("dsnot-sign-constraint", \.dsnotSignConstraint), flag("dsnot-all-layers", \.dsnotAllLayers),
        flag("dass", \.dass), value("dass-scope", \.dassScope),
        value("damp", \.damp), value("propagation", \.propagation), value("split", \.split), value("threads", \.threads),
        value("max-memory", \.maxMemory, parse: { try ByteSize.argument($0) }),
        value("dtype", \.dtype), value("max-shard-size", \.maxShardSize, parse: { try ByteSize.argument($0) }),
        value("remove-blocks", \.removeBlocks), value("remove-by", \.removeBy), value("replacement", \.replacement),
        value("train-epochs", \.trainEpochs), value("train-batch", \.trainBatch), value("train-lr", \.trainLR),
        value("train-heldout-windows", \.trainHeldoutWindows),
    ]

    /// The recipe keys of the settings, in `fields` order.
    package static var keys: [String] { fields.map(\.key) }

    package static func field(_ key: String) -> Field? { fields.first { $0.key == key } }

    /// Settings only `prune` reads: how the output is written (`plan` writes no model), so a
    /// recipe an earlier prune wrote still drives `plan`.
    package static let outputKeys: Set<String> = ["dtype", "max-shard-size"]
    /// Depth pruning's settings: `prune` only too (`plan` removes no blocks). The effective recipe
    /// of a `--remove-by` run holds them, or running it again would prune all the blocks.
    package static let depthKeys: Set<String> = ["remove-blocks", "remove-by", "replacement", "train-epochs", "train-batch",
                                         "train-lr", "train-heldout-windows"]

    /// A value its flag would refuse; `Recipe` names the file and line.
    package struct InvalidValue: Error {
        package let key: String
        package let reason: String
    }

    /// Keys that are not settings but a recipe's structure (`Recipe` reads them); skipped here.
    package static let structureKeys = ["overrides", "targets", "ignore"]

    package init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys {
            if let field = Self.field(key.stringValue) {
                try field.decode(&self, container, key)
            } else if !Self.structureKeys.contains(key.stringValue) {
                throw InvalidValue(key: key.stringValue, reason: "unknown key '\(key.stringValue)'")
            }
        }
    }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for field in Self.fields { try field.encode(self, &container, AnyKey(field.key)) }
    }

    /// A setting with a value, read as its flag reads it (`ExpressibleByArgument`).
    private static func value<T: ExpressibleByArgument>(
        _ key: String, _ path: WritableKeyPath<RunRequest, T?>,
        parse: @escaping (String) throws -> T? = { T(argument: $0) }
    ) -> Field {
        Field(key: key, isFlag: false,
              decode: { request, container, codingKey in
                  let text: String
                  do { text = try container.decode(String.self, forKey: codingKey) } catch {
                      throw InvalidValue(key: key, reason: "'\(key)' takes a single value")
                  }
                  let parsed: T?
                  do { parsed = try parse(text) } catch let refusal as ValidationError {
                      throw InvalidValue(key: key, reason: "'\(key)': \(String(describing: refusal))")
                  }
                  guard let parsed else {
                      let choices = T.allValueStrings
                      throw InvalidValue(key: key, reason: "'\(key)' cannot be '\(printableLine(text))'"
                                         + (choices.isEmpty ? "" : " (one of: \(choices.joined(separator: ", ")))"))
                  }
                  request[keyPath: path] = parsed
              },
              encode: { request, container, codingKey in
                  if let v = request[keyPath: path] { try container.encode(v.defaultValueDescription, forKey: codingKey) }
              },
              isSet: { $0[keyPath: path] != nil })
    }

    /// An on/off flag (`dsnot: true`); on the command line it is the bare flag.
    private static func flag(_ key: String, _ path: WritableKeyPath<RunRequest, Bool?>) -> Field {
        Field(key: key, isFlag: true,
              decode: { request, container, codingKey in
                  do { request[keyPath: path] = try container.decode(Bool.self, forKey: codingKey) } catch {
                      let text = (try? container.decode(String.self, forKey: codingKey)) ?? "?"
                      throw InvalidValue(key: key, reason: "'\(key)' is true or false, not '\(printableLine(text))'")
                  }
              },
              encode: { request, container, codingKey in
                  if let v = request[keyPath: path] { try container.encode(v, forKey: codingKey) }
              },
              isSet: { $0[keyPath: path] != nil })
    }
}

/// A coding key that is any string (recipe keys are kebab-case flag names).
package struct AnyKey: CodingKey, Sendable {
    package let stringValue: String
    package init(_ string: String) { stringValue = string }
    package init?(stringValue: String) { self.stringValue = stringValue }
    package var intValue: Int? { nil }
    package init?(intValue: Int) { nil }
}

extension RunRequest {
    /// The settings that option groups hold, as one request: `prune`'s flags merged with its
    /// recipe, a sweep cell's, an ATP grid point's, `bench prune`'s. Every setting a group holds is
    /// copied (its effective value where it has a default), so a field forgotten here shows up as a
    /// difference (`RecipeFlagsTests.everySettingOfARecipeReachesTheRun`).
    package init(model: String?, method m: MethodOptions, calibration: CalibrationOptions, depth: DepthOptions? = nil,
         split: WorkSplit? = nil, threads: Int? = nil, maxMemory: ByteSize? = nil, dtype: DType? = nil,
         maxShardSize: ByteSize? = nil) {
        self.init()
        self.model = model
        calib = calibration.calib; calibTokens = calibration.calibTokens
        nsamples = calibration.nsamples; seqlen = calibration.seqlen; seed = calibration.seed
        method = m.method; sparsity = m.sparsity; pattern = m.pattern; allocation = m.allocation
        owlM = m.owlM; owlLambda = m.owlLambda; atpBeta = m.atpBeta
        atpGridPoints = m.atpGridPoints; atpHeldoutWindows = m.atpHeldoutWindows; dlpAlpha = m.dlpAlpha
        alphaEpsilon = m.alphaEpsilon; alphaFit = m.alphaFit; update = m.update
        admmIterations = m.admmIterations; admmMaskSteps = m.admmMaskSteps; admmRho = m.admmRho; admmDamp = m.admmDamp
        dsnot = m.dsnot; dsnotSignConstraint = m.dsnotSignConstraint; dsnotAllLayers = m.dsnotAllLayers
        dass = m.dass; dassScope = m.dassScope; damp = m.damp; propagation = m.propagation
        self.split = split; self.threads = threads; self.maxMemory = maxMemory; self.dtype = dtype; self.maxShardSize = maxShardSize
        if let depth {
            removeBlocks = depth.removeBlocks; removeBy = depth.removeBy; replacement = depth.replacement
            trainEpochs = depth.trainEpochs; trainBatch = depth.trainBatch; trainLR = depth.trainLR
            trainHeldoutWindows = depth.trainHeldoutWindows
        }
    }
}
