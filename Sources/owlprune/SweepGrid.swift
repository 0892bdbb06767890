import ArgumentParser
import Cluster
import Diagnostics
import Foundation
import Pruning
import Yams

/// One cell of a sweep: a method, an allocation and a target sparsity; everything else is the
/// sweep's shared settings.
struct SweepCell: Codable, Hashable, Sendable {
    var method: MethodName
    var allocation: AllocationName
    var sparsity: Double

    /// Stable and file-name safe: `wanda-owl-0.7`. The sparsity is written as the shortest text
    /// that reads back as the same Double, so two different values never share an id (and with it
    /// a result, a journal entry and a model directory); issue 26 item 3.
    var id: String { "\(method.rawValue)-\(allocation.rawValue)-\(sparsity)" }
    /// The line of a plot: one per method × allocation.
    var series: String { "\(method.rawValue) \(allocation.rawValue)" }
}

/// The grid of `owlprune sweep` (issue 14 item 1), from comma lists on the command line or a YAML
/// file (docs/sweep.md). Cells run in method-major order; the dealing over groups is by cost.
struct SweepGrid: Equatable {
    var methods: [MethodName]
    var allocations: [AllocationName]
    var sparsities: [Double]
    /// Extra `prune` flags every cell shares (`--owl-lambda 0.1`, `--pattern 2:4`, `--dsnot` ...),
    /// in the order given.
    var options: [String]

    var cells: [SweepCell] {
        methods.flatMap { m in allocations.flatMap { a in sparsities.map { SweepCell(method: m, allocation: a, sparsity: $0) } } }
    }

    /// The keys a grid file may hold; anything else is an error naming it.
    static let fileKeys: Set<String> = ["method", "allocation", "sparsity", "options"]

    static func parseList(_ text: String, flag: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
            throw ValidationError("\(flag) \(text): expected a comma-separated list such as a,b,c")
        }
        guard Set(items).count == items.count else { throw ValidationError("\(flag) \(text): a value appears twice") }
        return items
    }

    /// A comma list of one of the fixed sets (`--method`, `--allocation`): each value checked, the
    /// error naming the flag, the value and the choices.
    static func parseChoices<Choice: CaseIterable & RawRepresentable>(_ text: String, flag: String) throws -> [Choice]
    where Choice.RawValue == String {
        try parseList(text, flag: flag).map { try Choice.choice($0, flag: flag) }
    }

    static func parseSparsities(_ text: String, flag: String = "--sparsity") throws -> [Double] {
        try parseList(text, flag: flag).map {
            guard let s = Double($0), s.isFinite, s >= 0, s < 1 else { throw ValidationError("\(flag) \($0): each must be in [0, 1)") }
            return s
        }
    }

    /// A YAML grid: `method`, `allocation`, `sparsity` as lists (or one scalar), `options` as a map
    /// of `prune` flag names (without `--`) to values (`true` for a flag without a value).
    static func read(file: String) throws -> SweepGrid {
        let text: String
        do { text = try YAMLLimits.text(of: file) } catch let refusal as YAMLLimits.Refusal {
            throw ValidationError("--grid \(printableLine(file)): \(refusal.cause)")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ValidationError("--grid \(file): not YAML (\(printableLine(String(describing: error))))")
        }
        guard let root = node?.mapping else { throw ValidationError("--grid \(file): expected a mapping with method, allocation, sparsity") }
        for (key, _) in root {
            guard let name = key.string, fileKeys.contains(name) else {
                let line = key.mark.map { " (line \($0.line))" } ?? ""
                throw ValidationError("--grid \(file)\(line): unknown key '\(printableLine(key.string ?? "?"))' (expected \(fileKeys.sorted().joined(separator: ", ")))")
            }
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = root[Node(key)] else { return nil }
            let line = value.mark.map { " (line \($0.line))" } ?? ""
            if let list = value.sequence {
                let items = list.compactMap(\.string)
                guard items.count == list.count, !items.isEmpty else { throw ValidationError("--grid \(file)\(line): \(key) must list scalars") }
                return items
            }
            guard let one = value.string else { throw ValidationError("--grid \(file)\(line): \(key) must be a list or a scalar") }
            return [one]
        }
        guard let methods = try strings("method"), let allocations = try strings("allocation"),
              let sparsityTexts = try strings("sparsity") else {
            throw ValidationError("--grid \(file): needs method, allocation and sparsity")
        }
        var options: [String] = []
        if let map = root[Node("options")] {
            guard let pairs = map.mapping else { throw ValidationError("--grid \(file): options must be a mapping of prune flags") }
            for (key, value) in pairs {
                guard let flag = key.string, let v = value.string else {
                    throw ValidationError("--grid \(file): options: every flag and value must be a scalar")
                }
                if v == "true" { options.append("--\(flag)") } else if v != "false" { options += ["--\(flag)", v] }
            }
        }
        return SweepGrid(methods: try methods.map { try MethodName.choice($0, flag: "--grid \(file): method") },
                         allocations: try allocations.map { try AllocationName.choice($0, flag: "--grid \(file): allocation") },
                         sparsities: try parseSparsities(sparsityTexts.joined(separator: ","), flag: "--grid \(file): sparsity"),
                         options: options)
    }

    /// The flags a cell sets itself; a shared option naming one (or its reference-script alias)
    /// would silently turn every cell into the same run under a label that lies.
    static let axisFlags: Set<String> = ["--method", "--allocation", "--sparsity", "--sparsity_ratio", "--prune_method"]

    /// Refuses a grid whose shared options override a cell's own axes, or whose lists name one
    /// cell twice (`--sparsity 0.5,0.50`, `--method wanda,wanda`): issue 26 item 3.
    func checkCells() throws {
        for option in options {
            let flag = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
            if Self.axisFlags.contains(flag) {
                throw ValidationError("sweep: the shared option \(printableLine(String(flag))) would override every cell's own method, allocation or sparsity; give the grid's values with --method, --allocation and --sparsity (or the grid file's lists)")
            }
        }
        for (name, values) in [("--method", methods.map(\.rawValue)), ("--allocation", allocations.map(\.rawValue))] {
            if let twice = Self.firstRepeat(values) {
                throw ValidationError("sweep: \(name) lists \(printableLine(twice)) twice; give each value once")
            }
        }
        if let twice = Self.firstRepeat(sparsities.map { "\($0)" }) {
            throw ValidationError("sweep: --sparsity lists \(twice) twice (as written, e.g. 0.5 and 0.50, they are the same value); give each value once")
        }
    }

    private static func firstRepeat(_ values: [String]) -> String? {
        var seen = Set<String>()
        return values.first { !seen.insert($0).inserted }
    }

    /// The shared options as `prune` parses them, once for the whole grid.
    func sharedOptions() throws -> MethodOptions {
        do {
            let shared = try MethodOptions.parse(options)
            try shared.check()
            return shared
        } catch {
            throw ValidationError("sweep: the shared options: \(MethodOptions.message(for: error))")
        }
    }

    /// A cell's `MethodOptions`: the shared options with the cell's three values set as typed
    /// values (no command-line text parsed again, issue 23 item 1), then every check of `prune`,
    /// so a cell equals `owlprune prune` with those flags. The shared options may not name the
    /// cell's axes (`checkCells`), so setting them here overrides nothing a user gave.
    func methodOptions(for cell: SweepCell) throws -> MethodOptions {
        if DepthOptions.isDepthMethod(cell.method) {
            throw ValidationError("sweep cell \(cell.id): --method \(cell.method.rawValue) removes blocks, which sweep does not do (use prune --remove-blocks)")
        }
        var options = try sharedOptions()
        options.method = cell.method
        options.allocation = cell.allocation
        options.sparsity = cell.sparsity
        do { try options.check() } catch {
            throw ValidationError("sweep cell \(cell.id): \(MethodOptions.message(for: error))")
        }
        // The β search is a prune of its own per grid point; inside a cell it would silently run β = 0.
        if options.atpAuto {
            throw ValidationError("sweep cell \(cell.id): --atp-beta auto runs only in `owlprune prune` (its β search is a grid of prunes); give the sweep a number")
        }
        return options
    }
}

/// How cells are dealt to rank groups: longest expected time first, each to the least-loaded
/// group (ties to the lower index), the same on every rank. The cost is a relative estimate in
/// units of one dense forward over the calibration tokens: propagation costs one pass per cell
/// (none for magnitude), SparseGPT's solver about one and a half more, DSnoT half, evaluation its
/// share of tokens.
enum SweepDealer {
    static func cost(of cell: SweepCell, dsnot: Bool, calibrationTokens: Int, evalTokens: Int) -> Double {
        var passes: Double = switch cell.method {
        case .magnitude: 0.1
        case .sparsegpt: 2.5
        default: 1
        }
        if dsnot { passes += 0.5 }
        return passes + Double(evalTokens) / Double(max(1, calibrationTokens))
    }

    /// The cells of every group, in grid order within a group.
    static func deal(costs: [Double], groups: Int) -> [[Int]] { LongestFirst.bins(costs: costs, bins: groups) }
}
