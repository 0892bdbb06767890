import Checkpoint
import Foundation

/// Every tensor of a checkpoint directory as raw bytes with dtype and shape, read with owlprune's
/// own reader, so outputs written with different shard layouts compare tensor by tensor.
public func tensorBytes(of directory: URL) throws -> [String: (dtype: String, shape: [Int], bytes: Data)] {
    let dir = try CheckpointDirectory(url: directory)
    var out: [String: (dtype: String, shape: [Int], bytes: Data)] = [:]
    for name in dir.tensorNames {
        let info = try dir.info(name)
        out[name] = (info.dtype.rawValue, info.shape, try dir.shard(containing: name).data(name))
    }
    return out
}

/// Names of tensors that differ (missing on either side counts), sorted.
public func differingTensors(_ a: URL, _ b: URL) throws -> [String] {
    let ta = try tensorBytes(of: a), tb = try tensorBytes(of: b)
    return Set(ta.keys).union(tb.keys).filter { name in
        guard let x = ta[name], let y = tb[name] else { return true }
        return x.dtype != y.dtype || x.shape != y.shape || x.bytes != y.bytes
    }.sorted()
}

/// A fresh scratch directory under the system temporary directory.
public func scratchDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
