import CLinux
import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard of a `ShardPlan`, written by several processes at once (docs/design.md §3
/// "Output"): `create` (rank 0) writes the header and sets the full length; afterwards any rank
/// opens it and writes its own tensors at their fixed offsets with `pwrite`, in any order. The
/// header and every offset follow from the plan alone, so the file's bytes do not depend on who
/// wrote which tensor. All-or-nothing comes from the staging directory the file lives in, not
/// from this type: a rank that fails leaves the directory to be discarded.
public final class SafetensorsShardFile {
    public let url: URL
    private let plan: ShardPlan
    private let file: Int
    private var fd: Int32
    private var written = Set<String>()

    /// Writes the header of `plan.files[file]` into `url` and extends it to its full length
    /// (data still zero), so later `pwrite`s never race on the file's size.
    public static func create(_ plan: ShardPlan, file: Int, at url: URL) throws {
        let entries = plan.files[file].entries
        let header = SafetensorsWriter.headerJSON(entries: entries, metadata: plan.metadata)
        let length = 8 + header.count + entries.reduce(0) { $0 + $1.byteCount }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.system(call: "open", path: url.path, errno: errno) }
        defer { close(fd) }
        var prefix = Data(count: 8)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self) }
        try (prefix + header).withUnsafeBytes { try FileDescriptorWrite.all(fd, $0, at: 0, path: url.path) }
        guard ftruncate(fd, off_t(length)) == 0 else { throw CheckpointError.system(call: "ftruncate", path: url.path, errno: errno) }
    }

    /// Opens a file `create` made, for writing tensors into it.
    public init(_ plan: ShardPlan, file: Int, at url: URL) throws {
        self.url = url
        self.plan = plan
        self.file = file
        fd = open(url.path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.system(call: "open", path: url.path, errno: errno) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// A tensor from float32, in its entry's dtype (bf16 rounds to nearest even).
    public func write(_ name: String, _ matrix: Matrix) throws {
        let place = try placement(name)
        try SafetensorsWriter.checkWritable(matrix, as: place.entry, file: url.lastPathComponent)
        var offset = place.offset
        try SafetensorsWriter.encodeChunks(matrix, as: place.entry.dtype) { bytes in
            try FileDescriptorWrite.all(fd, bytes, at: offset, path: url.path)
            offset += bytes.count
        }
        written.insert(name)
    }

    /// Several tensors from float32, converted and written on up to `threads` threads: each tensor
    /// is cut into pieces of at most `pieceElements` elements, and each piece goes to its own
    /// offset with `pwrite`, so the file's bytes are those of writing the tensors one by one.
    /// (A block's last write has no forward to hide behind: at the llama-7b shape it was a second
    /// of one thread converting bf16 while the others waited.)
    public func write(_ tensors: [(name: String, matrix: Matrix)], threads: Int, pieceElements: Int = 1 << 22) throws {
        var seen = Set<String>()
        if let repeated = tensors.first(where: { !seen.insert($0.name).inserted }) {
            throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: repeated.name, reason: "written twice")
        }
        var pieces: [(tensor: Int, elements: Range<Int>, offset: Int)] = []
        var dtypes: [SafetensorsDType] = []
        for (i, t) in tensors.enumerated() {
            let place = try placement(t.name)
            try SafetensorsWriter.checkWritable(t.matrix, as: place.entry, file: url.lastPathComponent)
            dtypes.append(place.entry.dtype)
            let size = place.entry.dtype.byteSize
            for start in stride(from: 0, to: t.matrix.count, by: pieceElements) {
                pieces.append((i, start..<min(start + pieceElements, t.matrix.count), place.offset + start * size))
            }
        }
        let fd = self.fd, path = url.path, kinds = dtypes
        let work = pieces
        let results = Parallel.map(work.count, workers: threads) { p in
            Result {
                let piece = work[p]
                var offset = piece.offset
                try SafetensorsWriter.encodeChunks(tensors[piece.tensor].matrix, as: kinds[piece.tensor], elements: piece.elements) { bytes in
                    try FileDescriptorWrite.all(fd, bytes, at: offset, path: path)
                    offset += bytes.count
                }
            }
        }
        for result in results { try result.get() }
        for t in tensors { written.insert(t.name) }
    }

    /// A tensor's bytes unchanged (already in its entry's dtype, little-endian).
    public func write(_ name: String, rawBuffer: UnsafeRawBufferPointer) throws {
        let place = try placement(name)
        guard rawBuffer.count == place.entry.byteCount else {
            throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: name,
                                                 reason: "\(rawBuffer.count) bytes given, \(place.entry.byteCount) expected")
        }
        try FileDescriptorWrite.all(fd, rawBuffer, at: place.offset, path: url.path)
        written.insert(name)
    }

    /// Asks the kernel to start writing the file's dirty pages to disk now, without waiting for
    /// them, so the `fsync` in `finish` has little left to wait for (a llama-7b-shaped prune spent
    /// 0.8 s in that final `fsync`, every thread idle). Advisory: on failure, or where the call
    /// does not exist, `finish`'s `fsync` still makes the file durable.
    public func startWriteback() {
        guard fd >= 0 else { return }
        _ = owlprune_start_writeback(fd)
    }

    /// Flushes and closes. `expected` are the tensors this process owns in this file; one never
    /// written is an error rather than a run of zeros in the output.
    public func finish(expected: [String]) throws {
        if let missing = expected.first(where: { !written.contains($0) }) {
            throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: missing, reason: "never written")
        }
        let descriptor = fd
        fd = -1
        try FileDescriptorWrite.syncAndClose(descriptor, path: url.path)
    }

    private func placement(_ name: String) throws -> ShardPlan.Placement {
        guard fd >= 0 else { throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: name, reason: "writer is closed") }
        guard let place = plan.placement(of: name), place.file == file else {
            throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: name, reason: "not a tensor of this shard")
        }
        guard !written.contains(name) else {
            throw CheckpointError.writerMismatch(file: url.lastPathComponent, tensor: name, reason: "written twice")
        }
        return place
    }
}
