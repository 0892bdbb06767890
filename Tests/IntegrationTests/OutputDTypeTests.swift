import Foundation
import TestSupport
import Testing

/// Issue 13 item 5: `prune --dtype bf16` of an f32 model writes every tensor as BF16, the same
/// bytes with 1 and 2 ranks, each value the round-to-nearest-even BF16 of the f32 run's value
/// (so pruning happened in float32 and only the output was narrowed), and config.json says so.
@Suite(.serialized) struct OutputDTypeTests {
    @Test func bf16OutputIsTheRoundedF32OutputForAnyRankCount() throws {
        let scratch = try scratchDirectory("dtype")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: model, blocks: 3)
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        func prune(_ out: String, ranks: Int?, _ extra: [String]) throws -> URL {
            let url = scratch.appendingPathComponent(out)
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", url.path, "--sparsity", "0.5", "--nsamples", "2",
                                      "--seqlen", "16", "--calib", calib] + extra, ranks: ranks, timeout: 120)
            #expect(run.status == 0, "\(run.stderr)")
            return url
        }
        let one = try prune("bf16-1", ranks: nil, ["--dtype", "bf16"])
        let two = try prune("bf16-2", ranks: 2, ["--dtype", "bf16"])
        let f32 = try prune("f32", ranks: nil, [])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: two.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(config["torch_dtype"] as? String == "bfloat16")
        let script = """
        import sys, json, struct, glob, numpy as np
        def load(d):
            out = {}
            for f in sorted(glob.glob(d + "/*.safetensors")):
                b = open(f, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
                for k, v in h.items():
                    if k == "__metadata__": continue
                    s, e = v["data_offsets"]; out[k] = (v["dtype"], b[8 + n + s:8 + n + e])
            return out
        a, b, f = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
        assert a.keys() == b.keys() == f.keys()
        assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]][:3]
        assert {v[0] for v in a.values()} == {"BF16"} and {v[0] for v in f.values()} == {"F32"}
        for k in a:
            x = np.frombuffer(f[k][1], dtype="<f4").view(np.uint32).astype(np.uint64)
            r = ((x + 0x7FFF + ((x >> 16) & 1)) >> 16).astype(np.uint16)
            assert np.array_equal(r, np.frombuffer(a[k][1], dtype="<u2")), k
        print("ok", len(a))
        """
        let (status, log) = try PythonScript.run(script, arguments: [one.path, two.path, f32.path])
        #expect(status == 0 && log.hasPrefix("ok"), "\(log)")
    }
}
