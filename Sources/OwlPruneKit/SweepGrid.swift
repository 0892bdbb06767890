import ArgumentParser
import Cluster
import Diagnostics
import Distribution
import Foundation
import Pruning
import Yams

/// The grid of `owlprune sweep` (issue 14 item 1), from comma lists on the command line or a YAML
/// file (docs/sweep.md). Cells run in method-major order; the dealing over groups is by cost.
package struct SweepGrid: Equatable {
    package var methods: [MethodName]
    package var allocations: [AllocationName]
    package var sparsities: [Double]
    /// Extra `prune` flags every cell shares (`--owl-lambda 0.1`, `--pattern 2:4`, `--dsnot` ...),
    /// in the order given.
    package var options: [String]
    /// The `remove-blocks` axis (issue 24): every cell removes K blocks first, for each K; empty:
    /// no cell removes blocks.
    package var removeBlocks: [Int] = []

    package init(methods: [MethodName], allocations: [AllocationName], sparsities: [Double], options: [String], removeBlocks: [Int] = []) {
        self.methods = methods
        self.allocations = allocations
        self.sparsities = sparsities
        self.options = options
        self.removeBlocks = removeBlocks
    }

    /// Method-major. A depth method is one cell per K (allocation and sparsity do not apply to
    /// it); a pruning method one per allocation × sparsity × K.
    package var cells: [SweepCell] {
        let ks: [Int?] = removeBlocks.isEmpty ? [nil] : removeBlocks.map { $0 }
        return methods.flatMap { m in
            if DepthOptions.isDepthMethod(m) { return ks.map { SweepCell(method: m, allocation: .uniform, sparsity: 0, removeBlocks: $0) } }
            return allocations.flatMap { a in sparsities.flatMap { s in ks.map { SweepCell(method: m, allocation: a, sparsity: s, removeBlocks: $0) } } }
        }
    }

    /// The keys a grid file may hold; anything else is an error naming it.
    package static let fileKeys: Set<String> = ["method", "allocation", "sparsity", "remove-blocks", "options"]

    /// `--remove-blocks 4,8` or the file's list: each at least 1.
    package static func parseRemoveBlocks(_ text: String, flag: String = "--remove-blocks") throws -> [Int] {
        try parseList(text, flag: flag).map {
            guard let k = Int($0), k >= 1 else { throw ValidationError("\(flag) \($0): each must be a whole number of blocks, at least 1") }
            return k
        }
    }

    package static func parseList(_ text: String, flag: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
            throw ValidationError("\(flag) \(text): expected a comma-separated list such as a,b,c")
        }
        guard Set(items).count == items.count else { throw ValidationError("\(flag) \(text): a value appears twice") }
        return items
    }

    /// A comma list of one of the fixed sets (`--method`, `--allocation`): each value checked, the
    /// error naming the flag, the value and the choices.
    package static func parseChoices<Choice: CaseIterable & RawRepresentable>(_ text: String, flag: String) throws -> [Choice]
    where Choice.RawValue == String {
        try parseList(text, flag: flag).map { try Choice.choice($0, flag: flag) }
    }

    package static func parseSparsities(_ text: String, flag: String = "--sparsity") throws -> [Double] {
        try parseList(text, flag: flag).map {
            guard let s = Double($0), s.isFinite, s >= 0, s < 1 else { throw ValidationError("\(flag) \($0): each must be in [0, 1)") }
            return s
        }
    }

    /// A YAML grid: `method`, `allocation`, `sparsity` as lists (or one scalar), `options` as a map
    /// of `prune` flag names (without `--`) to values (`true` for a flag without a value).
    package static func read(file: String) throws -> SweepGrid {
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
                         options: options,
                         removeBlocks: try strings("remove-blocks").map { try parseRemoveBlocks($0.joined(separator: ","), flag: "--grid \(file): remove-blocks") } ?? [])
    }

    /// The flags a cell sets itself; a shared option naming one (or its reference-script alias)
    /// would silently turn every cell into the same run under a label that lies.
    package static let axisFlags: Set<String> = ["--method", "--allocation", "--sparsity", "--sparsity_ratio", "--prune_method", "--remove-blocks"]

    /// Refuses a grid whose shared options override a cell's own axes, or whose lists name one
    /// cell twice (`--sparsity 0.5,0.50`, `--method wanda,wanda`): issue 26 item 3.
    package func checkCells() throws {
        for option in options {
            let flag = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
            if Self.axisFlags.contains(flag) {
                throw ValidationError("sweep: the shared option \(printableLine(String(flag))) would override every cell's own method, allocation, sparsity or removed blocks; give the grid's values with --method, --allocation, --sparsity and --remove-blocks (or the grid file's lists)")
            }
        }
        for (name, values) in [("--method", methods.map(\.rawValue)), ("--allocation", allocations.map(\.rawValue))] {
            if let twice = Self.firstRepeat(values) {
                throw ValidationError("sweep: \(name) lists \(printableLine(twice)) twice; give each value once")
            }
        }
        if let twice = Self.firstRepeat(removeBlocks.map { "\($0)" }) {
            throw ValidationError("sweep: --remove-blocks lists \(twice) twice; give each value once")
        }
        if let twice = Self.firstRepeat(sparsities.map { "\($0)" }) {
            throw ValidationError("sweep: --sparsity lists \(twice) twice (as written, e.g. 0.5 and 0.50, they are the same value); give each value once")
        }
    }

    private static func firstRepeat(_ values: [String]) -> String? {
        var seen = Set<String>()
        return values.first { !seen.insert($0).inserted }
    }

    /// The depth flags a grid's shared options may hold (each with a value); they go to
    /// `DepthOptions`, the rest to `MethodOptions`.
    package static let depthFlags: Set<String> = ["--remove-by", "--replacement", "--train-epochs", "--train-batch", "--train-lr",
                                          "--train-heldout-windows"]

    /// The shared options split into the depth flags and the pruning flags.
    package func splitOptions() -> (pruning: [String], depth: [String]) {
        var pruning: [String] = [], depth: [String] = []
        var i = 0
        while i < options.count {
            if Self.depthFlags.contains(options[i]) {
                depth += options[i..<min(i + 2, options.count)]
                i += 2
            } else {
                pruning.append(options[i])
                i += 1
            }
        }
        return (pruning, depth)
    }

    /// The shared depth flags as `prune` parses them.
    package func sharedDepthOptions() throws -> DepthOptions {
        do { return try DepthOptions.parse(splitOptions().depth) } catch {
            throw ValidationError("sweep: the shared options: \(DepthOptions.message(for: error))")
        }
    }

    /// The shared options as `prune` parses them, once for the whole grid.
    package func sharedOptions() throws -> MethodOptions {
        do {
            let shared = try MethodOptions.parse(splitOptions().pruning)
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
    ///
    /// A depth-method cell runs as the prune path's removal followed by magnitude at sparsity 0,
    /// which changes no weight: its tensors are `prune --method D --remove-blocks K`'s.
    package func methodOptions(for cell: SweepCell) throws -> MethodOptions {
        var options = try sharedOptions()
        options.method = cell.isDepthOnly ? .magnitude : cell.method
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

    /// A cell's depth settings, as `prune` would take them (nil: the cell removes no blocks).
    /// The depth method of a depth-only cell becomes `remove-by` beside magnitude at sparsity 0;
    /// a pruning cell takes the shared `remove-by`. `replacement` and `train-*` apply to the
    /// cells whose removal is streamline and are left out of the others, so one grid can hold
    /// `method: [shortgpt, streamline]` with `replacement: linear`.
    package func depthOptions(for cell: SweepCell, calibrationText: Bool) throws -> DepthOptions? {
        let shared = try sharedDepthOptions()
        guard let k = cell.removeBlocks else {
            if cell.isDepthOnly {
                throw ValidationError("sweep cell \(cell.id): --method \(cell.method.rawValue) removes blocks; give the grid remove-blocks (e.g. --remove-blocks 4,8)")
            }
            if let flag = splitOptions().depth.first {
                throw ValidationError("sweep: the shared option \(flag) needs the grid's remove-blocks (e.g. --remove-blocks 4,8)")
            }
            return nil
        }
        var d = try DepthOptions.parse([])
        d.removeBlocks = k
        if cell.isDepthOnly {
            d.removeBy = BlockRemovalMethod(rawValue: cell.method.rawValue)
        } else {
            guard let by = shared.removeBy else {
                throw ValidationError("sweep cell \(cell.id): remove-blocks \(k) beside --method \(cell.method.rawValue) needs remove-by (shortgpt, sleb or streamline) in the shared options")
            }
            d.removeBy = by
        }
        if d.removeBy == .streamline {
            d.replacement = shared.replacement
            d.trainEpochs = shared.trainEpochs; d.trainBatch = shared.trainBatch
            d.trainLR = shared.trainLR; d.trainHeldoutWindows = shared.trainHeldoutWindows
        }
        do { try d.validate(method: .magnitude) } catch {
            throw ValidationError("sweep cell \(cell.id): \(DepthOptions.message(for: error))")
        }
        if d.effectiveReplacement(method: .magnitude) == .layer && !calibrationText {
            throw ValidationError("sweep cell \(cell.id): --replacement layer needs --calib FILE (its validation windows are cut from the end of the text); or give replacement none|linear")
        }
        return d
    }

    /// Refuses shared depth flags no cell uses (a `replacement` in a grid without streamline).
    package func checkDepthFlagsUsed(calibrationText: Bool) throws {
        let given = splitOptions().depth.filter { $0.hasPrefix("--") }
        guard !given.isEmpty, !removeBlocks.isEmpty else { return }
        let cellsDepth = try cells.compactMap { try depthOptions(for: $0, calibrationText: calibrationText) }
        for flag in given {
            let used = cellsDepth.contains { d in
                switch flag {
                case "--remove-by": d.removeBy != nil
                case "--replacement": d.replacement != nil
                case "--train-epochs": d.trainEpochs != nil
                case "--train-batch": d.trainBatch != nil
                case "--train-lr": d.trainLR != nil
                default: d.trainHeldoutWindows != nil
                }
            }
            if !used || (flag == "--remove-by" && !cells.contains { !$0.isDepthOnly }) {
                throw ValidationError("sweep: the shared option \(flag) applies to no cell of the grid (\(flag == "--remove-by" ? "every method removes blocks itself" : "no cell removes blocks by streamline"))")
            }
        }
    }
}

