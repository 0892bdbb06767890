import Foundation
import Testing
import TestSupport
@testable import Checkpoint

/// Issue 25 item 1 on real tensors: for every ggml type in the Qwen2.5-Coder-0.5B Q4_K_M GGUF
/// (F32, Q5_0, Q8_0, Q4_K, Q6_K), its smallest tensor decoded by `GGUFDequant` equals, bit for
/// bit, what llama.cpp's `gguf.quants.dequantize` makes of it. The GGUF comes from
/// `deploy/fetch-models 0.5b`; a missing file fails with that hint.
@Suite struct QwenGGUFDequantTests {
    static func gguf() throws -> URL {
        let url = TestFiles.modelsDirectory.appendingPathComponent("Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf")
        try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing: run deploy/fetch-models 0.5b")
        return url
    }

    @Test func everyTypeMatchesTheGGUFPackage() throws {
        let url = try Self.gguf()
        let file = try GGUFFile(url: url)
        var smallest: [GGMLType: GGUFTensorInfo] = [:]
        for t in file.tensors where smallest[t.type].map({ t.elementCount < $0.elementCount }) ?? true { smallest[t.type] = t }
        #expect(Set(smallest.keys) == [.f32, .q5_0, .q8_0, .q4_K, .q6_K])
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let names = smallest.values.map(\.name).sorted()
        let script = """
        import sys, numpy as np, gguf
        reader = gguf.GGUFReader(sys.argv[1])
        tensors = {t.name: t for t in reader.tensors}
        for name in sys.argv[3:]:
            t = tensors[name]
            values = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
            values.astype("<f4").tofile(sys.argv[2] + "/" + name + ".f32")
        print("ok")
        """
        let (status, log) = try PythonScript.run(script, arguments: [url.path, dir.path] + names)
        try #require(status == 0, "\(log)")
        for name in names {
            let info = try #require(file.tensor(name))
            let want = try Data(contentsOf: dir.appendingPathComponent(name + ".f32"))
            let got = try file.dequantize(name)
            #expect(want.count == 4 * got.count, "\(name): gguf gave \(want.count / 4) values, owlprune \(got.count)")
            let same = want.withUnsafeBytes { raw in
                got.elements.indices.allSatisfy {
                    UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) == got.elements[$0].bitPattern
                }
            }
            #expect(same, "\(name) (\(info.typeName)): values differ from gguf.quants.dequantize")
        }
    }
}
