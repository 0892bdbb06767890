import Foundation
import TestSupport
import Testing

/// A clone must stand alone (issue 15): nothing the project ships may reach for a folder beside
/// the repository, and the notes the code cites must be the repository's own `docs/`.
@Suite struct StandaloneCloneTests {
    /// Text files the project ships, relative to the repository root.
    static func shippedFiles() throws -> [URL] {
        let fm = FileManager.default
        var files: [URL] = [RepoPaths.root.appendingPathComponent("README.md"),
                            RepoPaths.root.appendingPathComponent("Package.swift")]
        for top in ["Sources", "Tests", "deploy", ".ci", "docs", "Benchmarks", "recipes"] {
            let dir = RepoPaths.root.appendingPathComponent(top)
            guard let walker = fm.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                if ["ids", "safetensors", "gguf", "bin"].contains(url.pathExtension) { continue }
                files.append(url)
            }
        }
        return files
    }

    @Test func nothingReachesOutsideTheClone() throws {
        // Spelled in pieces so this file does not match itself.
        let sibling = ".." + "/" + "shared", siblingData = "shared" + "/data/"
        let notes = ["ALGORITHMS", "DESIGN", "PLATFORM", "STYLE"].map { $0 + ".md" }
        var offenders: [String] = []
        let files = try Self.shippedFiles()
        #expect(files.count > 50, "found only \(files.count) files: is RepoPaths.root right?")
        for url in files {
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            let relative = String(url.path.dropFirst(RepoPaths.root.path.count + 1))
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.contains(sibling) || line.contains(siblingData) {
                    offenders.append("\(relative):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
                for note in notes where line.contains(note) {
                    offenders.append("\(relative):\(number + 1): cites \(note), which is not in the repository (use docs/)")
                }
                for cited in Self.citedDocs(in: line) where !FileManager.default.fileExists(atPath: RepoPaths.root.appendingPathComponent(cited).path) {
                    offenders.append("\(relative):\(number + 1): cites \(cited), which does not exist")
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders.count) references outside the clone:\n\(offenders.prefix(20).joined(separator: "\n"))")
    }

    /// `docs/<name>.md` paths cited on a line.
    static func citedDocs(in line: Substring) -> [String] {
        var found: [String] = []
        var rest = line[...]
        while let start = rest.range(of: "docs/") {
            let tail = rest[start.upperBound...]
            let name = tail.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
            // Another project's docs (ggml `docs/gguf.md`) are cited with the project's name.
            let upstream = line[..<start.lowerBound].hasSuffix("ggml `")
            if !name.isEmpty, !upstream, tail.dropFirst(name.count).hasPrefix(".md") { found.append("docs/\(name).md") }
            rest = tail
        }
        return found
    }

    @Test func fixturesAreTheDocumentedFiles() throws {
        let dir = RepoPaths.smolFixtures
        for (name, tokens) in [("wiki.test.raw.ids", 304_830), ("wiki.valid.tokens.ids", 273_868)] {
            let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int
            #expect(size == 4 * tokens, "\(name): \(size ?? -1) bytes, README says \(tokens) ids")
        }
        let readme = try String(contentsOf: dir.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("304,830") && readme.contains("273,868"))
    }
}
