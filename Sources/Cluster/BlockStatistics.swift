import Model
import Pruning
import Tensor

/// The calibration statistics of one block, kept per distinct linear input (q/k/v share one,
/// gate/up another), so each input tensor is accumulated once per window (docs/algorithms.md §3).
public struct BlockStatistics: Sendable {
    public var byInput: [LinearInput: LinearStatistics]

    public init(shape: BlockShape, collecting kinds: StatisticKinds) {
        var d: [LinearInput: LinearStatistics] = [:]
        d[.attention] = LinearStatistics(columns: shape.hiddenSize, collecting: kinds)
        d[.attentionOutput] = LinearStatistics(columns: shape.heads * shape.headDim, collecting: kinds)
        d[.mlp] = LinearStatistics(columns: shape.hiddenSize, collecting: kinds)
        d[.down] = LinearStatistics(columns: shape.intermediateSize, collecting: kinds)
        byInput = d
    }

    public mutating func add(_ input: LinearInput, window: Matrix) {
        byInput[input]!.add(window: window)
    }

    /// The four distinct linear inputs in a fixed order (the order of the flattened state).
    public static let inputOrder: [LinearInput] = [.attention, .attentionOutput, .mlp, .down]

    public var kinds: StatisticKinds { byInput[.attention]!.kinds }

    /// Windows folded so far.
    public var windowCount: Int { byInput[.attention]!.wanda.windowCount }

    /// One window's contribution to every input's statistics, computed from that window alone
    /// (`LinearStatistics.term`); `fold` applies it. Term anywhere, fold in window order, is
    /// `add` bit for bit.
    public struct Term: Sendable {
        public var byInput: [LinearInput: LinearStatistics.Term]
    }

    /// The term of window number `index` from the inputs a block's forward pass showed it.
    public static func term(observed: [(LinearInput, Matrix)], index: Int, collecting kinds: StatisticKinds) -> Term {
        var d: [LinearInput: LinearStatistics.Term] = [:]
        for (input, x) in observed { d[input] = LinearStatistics.term(window: x, index: index, collecting: kinds) }
        return Term(byInput: d)
    }

    public mutating func fold(_ term: Term) {
        for input in Self.inputOrder { byInput[input]!.fold(term.byInput[input]!) }
    }

    public func statistics(for linear: BlockLinear) -> LinearStatistics { byInput[linear.input]! }
}

extension BlockLinear {
    /// The Pruning module's name for the same layer (both spell the HF suffix).
    public var kind: LinearKind { LinearKind(rawValue: rawValue)! }
}

/// What the allocation reads of each dense block (docs/algorithms.md §7.1; DLP.swift).
public enum BlockScorer: Sendable, Equatable {
    case outlierRatio(m: Double)
    case dlpScore

    public func score(of block: DecoderBlock, statistics: BlockStatistics) -> Double {
        switch self {
        case let .outlierRatio(m): Cluster.outlierRatio(of: block, statistics: statistics, m: m)
        case .dlpScore:
            DLP.blockScore(linears: BlockLinear.allCases.map { (block.weight($0), statistics.statistics(for: $0).wanda.scalerRow) })
        }
    }
}

/// OWL's outlier ratio of one block from its dense weights and Wanda statistics (docs/algorithms.md §7.1).
public func outlierRatio(of block: DecoderBlock, statistics: BlockStatistics, m: Double) -> Double {
    blockOutlierRatio(linears: BlockLinear.allCases.map { (block.weight($0),
                                                 statistics.statistics(for: $0).wanda.scalerRow) }, m: m)
}
