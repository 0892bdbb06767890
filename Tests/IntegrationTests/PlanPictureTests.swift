import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Testing

/// Issue 13 item 3: `prune` writes `owlprune-plan.svg` into OUT/ and `plan --out` beside its file.
/// The SVG is well-formed XML with one bar per block, bars on an axis from 0 (height ∝ sparsity),
/// one heat-map cell per linear holding the sparsity the report measured, and it renders in
/// headless Chromium with the bars where the geometry puts them (deploy/test installs
/// Debian's chromium; without it that part is skipped with a message).
@Suite(.serialized) struct PlanPictureTests {
    /// Collects the elements a test looks at.
    final class Elements: NSObject, XMLParserDelegate {
        var bars: [[String: String]] = []
        var cells: [[String: String]] = []
        var targets = 0
        var ratioLines = 0
        var titles: [String] = []
        var root: [String: String] = [:]
        private var inTitle = false
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String]) {
            if name == "svg" { root = attributes }
            if name == "rect", attributes["class"] == "bar" { bars.append(attributes) }
            if name == "rect", attributes["class"] == "cell" { cells.append(attributes) }
            if name == "line", attributes["class"] == "target" { targets += 1 }
            if name == "polyline", attributes["class"] == "ratio" { ratioLines += 1 }
            if name == "title" { inTitle = true; titles.append("") }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { if inTitle { titles[titles.count - 1] += string } }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "title" { inTitle = false }
        }
    }

    func parse(_ url: URL) throws -> Elements {
        let parser = try #require(XMLParser(contentsOf: url))
        let elements = Elements()
        parser.delegate = elements
        #expect(parser.parse(), "\(url.lastPathComponent) is not well-formed XML: \(String(describing: parser.parserError))")
        return elements
    }

    @Test func pruneWritesAPictureOfPlanAndAchievedSparsity() throws {
        let scratch = try scratchDirectory("picture")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("tiny"), out = scratch.appendingPathComponent("out")
        try TinyCheckpoint.write(to: model, blocks: 5)
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.6", "--method", "wanda",
                                  "--allocation", "owl", "--owl-lambda", "0.1", "--calib", calib, "--nsamples", "2",
                                  "--seqlen", "32"], ranks: nil, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let svg = out.appendingPathComponent("owlprune-plan.svg")
        let e = try parse(svg)
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-plan.json"))) as! [String: Any]
        let sparsities = plan["block_sparsities"] as! [Double]
        #expect(e.bars.count == 5 && e.cells.count == 5 * 7, "\(e.bars.count) bars, \(e.cells.count) cells")
        #expect(e.targets == 2 && e.ratioLines == 1, "target lines \(e.targets), outlier-ratio lines \(e.ratioLines)")
        // Axis from 0: every bar's height over its sparsity is one constant (the panel height), and
        // bars stand on one baseline.
        let heights = e.bars.map { Double($0["height"]!)! }
        let scale = zip(heights, sparsities).map { $0 / $1 }
        #expect(scale.allSatisfy { abs($0 - scale[0]) < 0.5 }, "bar height / sparsity not constant: \(scale)")
        let bottoms = e.bars.map { Double($0["y"]!)! + Double($0["height"]!)! }
        #expect(bottoms.allSatisfy { abs($0 - bottoms[0]) < 0.11 }, "bars do not share a baseline at 0: \(bottoms)")
        // Cells carry the achieved sparsity of the report.
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
        for linear in report["linears"] as! [[String: Any]] {
            let name = (linear["name"] as! String).replacingOccurrences(of: ".weight", with: "")
            let value = String(format: "%.4f", linear["achieved_sparsity"] as! Double)
            #expect(e.titles.contains("\(name): \(value)"), "no heat-map cell titled \(name): \(value)")
        }
    }

    @Test func planWritesThePictureBesideItsFile() throws {
        let scratch = try scratchDirectory("picture-plan")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: model, blocks: 3)
        let planFile = scratch.appendingPathComponent("plans/plan.json")
        try FileManager.default.createDirectory(at: planFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        let run = try MPIRun.run(["plan", "--model", model.path, "--out", planFile.path, "--sparsity", "0.5",
                                  "--allocation", "atp", "--atp-beta", "0.05", "--nsamples", "1", "--seqlen", "16",
                                  "--calib", RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path],
                                 ranks: nil, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let e = try parse(planFile.deletingLastPathComponent().appendingPathComponent("owlprune-plan.svg"))
        #expect(e.bars.count == 3 && e.cells.count == 21)
        let heights = e.bars.map { Double($0["height"]!)! }
        // ATP, β = 0.05 around 0.5: 0.45, 0.50, 0.55 — heights in that ratio, from a 0 baseline.
        #expect(abs(heights[0] / heights[2] - 0.45 / 0.55) < 1e-3, "heights \(heights)")
        // The terminal table: bars from 0 to 1 over 40 cells, so 0.45 is 18 full cells.
        let row = run.stderr.split(separator: "\n").first { $0.hasPrefix("    0 ") }.map(String.init) ?? ""
        #expect(row.filter { $0 == "█" }.count == 18, "terminal bar for 0.45: \(row)")
        try screenshotShowsBars(svg: planFile.deletingLastPathComponent().appendingPathComponent("owlprune-plan.svg"),
                                elements: e, sparsities: [0.45, 0.5, 0.55])
    }

    /// Headless Chromium renders the SVG; at the centre of every bar the pixel is the bar colour
    /// and at sparsity 0.9 above it (between the 0.8 and 1.0 grid lines, clear of the ATP line
    /// and the target) the white background. The PNG is decoded with Python's zlib.
    func screenshotShowsBars(svg: URL, elements e: Elements, sparsities: [Double]) throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            print("PlanPictureTests: chromium not installed (deploy/test installs Debian's chromium) — rendering check skipped")
            return
        }
        let png = svg.deletingLastPathComponent().appendingPathComponent("plan.png")
        let width = Int(Double(e.root["width"]!)!), height = Int(Double(e.root["height"]!)!)
        let shot = Process()
        shot.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        shot.arguments = ["60", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--window-size=\(width),\(height)", "--screenshot=\(png.path)", svg.absoluteString]
        shot.standardOutput = FileHandle.nullDevice
        shot.standardError = FileHandle.nullDevice
        try shot.run()
        shot.waitUntilExit()
        #expect(shot.terminationStatus == 0 && FileManager.default.fileExists(atPath: png.path), "chromium screenshot failed")
        var points: [String] = []
        for (bar, s) in zip(e.bars, sparsities) {
            let x = Double(bar["x"]!)! + Double(bar["width"]!)! / 2, height = Double(bar["height"]!)!
            let baseline = Double(bar["y"]!)! + height, panel = height / s
            points.append("\(Int(x)),\(Int(baseline - height / 2)),bar")
            points.append("\(Int(x)),\(Int(baseline - 0.9 * panel)),above")
        }
        let script = """
        import sys, zlib, struct
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        pos, idat, w, h = 8, b"", 0, 0
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
            if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10]); assert depth == 8 and ctype in (2, 6)
            if kind == b"IDAT": idat += body
        bpp = 4 if ctype == 6 else 3
        raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
        for r in range(h):
            f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
                if f == 1: line[i] = (line[i] + a) & 255
                elif f == 2: line[i] = (line[i] + b) & 255
                elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(line); prev = line
        colours = {bytes(rows[y][x * bpp:x * bpp + 3]) for y in range(0, h, 7) for x in range(0, w, 7)}
        assert len(colours) > 8, f"screenshot has {len(colours)} colours: blank"
        for p in sys.argv[2:]:
            x, y, what = p.split(","); px = tuple(rows[int(y)][int(x) * bpp:int(x) * bpp + 3])
            want = (0x4c, 0x78, 0xa8) if what == "bar" else (255, 255, 255)
            assert max(abs(u - v) for u, v in zip(px, want)) <= 12, f"{what} at {x},{y}: {px}, expected {want}"
        print("ok", w, h, len(colours))
        """
        let (status, log) = try PythonScript.run(script, arguments: [png.path] + points)
        #expect(status == 0 && log.hasPrefix("ok"), "\(log)")
    }
}
