import Checkpoint
import Distribution
import Foundation
import Pruning
import Tensor

/// Everything that decides the bits of a prune's output, as named fields (issue 10 item 4), so a
/// resume journal can be bound to the run that wrote it and `--resume` with anything different
/// can say *what* changed, not only that a hash differs.
///
/// Fields are the effective configuration (after defaults), not the command line: a flag spelled
/// differently but meaning the same thing does not block a resume, and a changed default does.
/// What does not change the result is left out: the rank count, `--split` and `--threads` (outputs
/// are bit-identical across them, docs/design.md §3), and the model's directory name (the input
/// is identified by its bytes: every safetensors header and `config.json`). Tensor data is not
/// hashed — reading a 7B model twice would cost minutes — but the headers fix every name, dtype,
/// shape and offset, so a re-export or a different model changes them.
public struct RunFingerprint: Codable, Sendable, Equatable {
    /// Bumped when the journal or the pruning code changes what a journaled block means.
    /// 2: parts per writer and a marker naming them (`BlockJournal`).
    /// 3: linears that only zero entries stored as their +0 positions, 1 bit per weight.
    /// 4: the weight files' identity is part of the fingerprint.
    public static let journalFormat = 4

    /// Field name (the flag that sets it, where there is one) → value, in a stable order.
    public var fields: [Field]

    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public init(fields: [Field]) { self.fields = fields }

    public init(configuration c: PruneConfiguration, windows: CalibrationWindows, checkpoint: CheckpointDirectory) throws {
        let allocation: String = switch c.allocation {
        case .uniform: "uniform"
        case let .owl(m, lambda): "owl (--owl-m \(m), --owl-lambda \(lambda))"
        case let .atp(beta): "atp (--atp-beta \(beta))"
        case let .dlp(alpha): "dlp (--dlp-alpha \(alpha))"
        case let .alpha(epsilon, fit): "alpha (--alpha-epsilon \(epsilon), --alpha-fit \(fit))"
        }
        let dsnot = c.options.dsnot.map {
            "on (cycles \($0.maxCycles), threshold \($0.updateThreshold), exponent \($0.varianceExponent), sign constraint \($0.signConstraint ? "on" : "off"), all layers \($0.refineMLP))"
        } ?? "off"
        let dass = c.options.dass.map { "on (norm exponent \($0.normExponent), scope \($0.scope.rawValue))" } ?? "off"
        var list: [(String, String)] = [
            ("owlprune", "\(PruneReport.toolVersion) (journal format \(Self.journalFormat))"),
            ("--method", c.method.rawValue),
            ("--sparsity", "\(c.sparsity)"),
            ("--pattern", c.pattern.description),
            ("--allocation", allocation),
            ("--propagation", c.propagation.rawValue),
            // SparseGPT alone reads the damping and the column block size.
            ("--damp", c.method == .sparsegpt ? "\(c.options.percdamp) (block size \(c.options.blocksize))" : "unused"),
            ("--dsnot", dsnot),
            ("--dass", dass),
            ("--update", c.options.admm.map { "admm (iterations \($0.iterations), mask steps \($0.maskSteps), rho \($0.rho), damping \($0.percdamp))" } ?? "none"),
            ("recipe overrides", c.overrides == SparsityOverrides() ? "none"
                : String(decoding: (try? JSONEncoder().encode(c.overrides)) ?? Data(), as: UTF8.self)),
            ("calibration windows", "\(windows.count) × \(windows.length) tokens, hash \(windows.hash)"),
            ("--seed", c.seed.map { "\($0)" } ?? "none (pre-tokenized windows)"),
        ]
        list += try Self.checkpointFields(checkpoint)
        fields = list.map { Field(name: $0.0, value: $0.1) }
    }

    /// `config.json`'s bytes and the safetensors headers (8-byte length and JSON header of every
    /// shard, in file-name order) as FNV-1a 64 hashes; the dtype of the model's tensors rides in
    /// the headers and is named separately because it is the one a user changes on purpose.
    static func checkpointFields(_ checkpoint: CheckpointDirectory) throws -> [(String, String)] {
        let configURL = checkpoint.url.appendingPathComponent(CheckpointDirectory.configFileName)
        let config: Data
        do { config = try Data(contentsOf: configURL) } catch { throw CheckpointError.fileSystem(error, path: configURL.path) }
        var headers = FNV1a()
        let shards = checkpoint.index?.shardFileNames ?? [CheckpointDirectory.singleFileName]
        for shard in shards {
            headers.combine(bytes: shard.utf8)
            headers.combine(bytes: try Self.header(of: checkpoint.url.appendingPathComponent(shard)))
        }
        let dtypes = Set(try checkpoint.tensorNames.map { try checkpoint.dtype($0).rawValue }).sorted()
        var configHash = FNV1a()
        configHash.combine(bytes: config)
        return try [("model config.json", configHash.hex),
                ("model safetensors headers", "\(shards.count) file(s), hash \(headers.hex)"),
                ("model dtype", dtypes.joined(separator: ", "))]
            + shards.map { ("model weights \($0)", try fileIdentity(checkpoint.url.appendingPathComponent($0))) }
    }

    /// A weight file's identity: size, modification time (ns) and inode (issue 26 item 3). Same
    /// shapes under the same path no longer pass for the same weights: copying, converting or
    /// rewriting a file gives it a new modification time or a new inode, so `--resume` and
    /// `sweep --resume` refuse in one line naming the file. Hashing the bytes instead would read
    /// the whole model once more on every run (minutes for 7B); this costs one `stat` per shard.
    static func fileIdentity(_ url: URL) throws -> String {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw CheckpointError.system(call: "stat", path: url.path, errno: errno) }
        let ns = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return "\(info.st_size) bytes, modified \(ns) ns, inode \(info.st_ino)"
    }

    /// The input's fields as one text, for fingerprints of their own (a sweep's).
    public static func inputIdentity(_ checkpoint: CheckpointDirectory) throws -> String {
        try checkpointFields(checkpoint).map { "\($0.0)=\($0.1)" }.joined(separator: "\u{1}")
    }

    /// The first 8 + n bytes of a safetensors file (n from its little-endian length prefix; the
    /// file was validated when the checkpoint was opened, so n is sane).
    private static func header(of url: URL) throws -> [UInt8] {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let prefix = [UInt8](try handle.read(upToCount: 8) ?? Data())
            guard prefix.count == 8 else { return prefix }
            let n = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            return prefix + [UInt8](try handle.read(upToCount: Int(min(n, 1 << 30))) ?? Data())
        } catch {
            throw CheckpointError.fileSystem(error, path: url.path)
        }
    }

    /// The fields that differ from `earlier`, as `name old → new` (a field one side lacks shows
    /// as "absent").
    public func changes(since earlier: RunFingerprint) -> [String] {
        var names = earlier.fields.map(\.name)
        for f in fields where !names.contains(f.name) { names.append(f.name) }
        let old = Dictionary(earlier.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        return names.compactMap { name in
            let a = old[name] ?? "absent", b = new[name] ?? "absent"
            return a == b ? nil : "\(name) \(a) → \(b)"
        }
    }

    /// One hash of all fields, for the report and logs.
    public var hash: String {
        var h = FNV1a()
        for f in fields { h.combine(bytes: (f.name + "\u{0}" + f.value + "\u{0}").utf8) }
        return h.hex
    }
}
