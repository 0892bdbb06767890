import Foundation
import Testing
@testable import Checkpoint

/// The rename step and the run lock of `StagedDirectory` (issue 10 item 3), in process.
@Suite struct StagedDirectoryTests {
    @Test func renameNeverReplacesADirectoryThatAppeared() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let out = dir.appendingPathComponent("out")
        let staged = try StagedDirectory(destination: out, force: false, runID: "a")
        try staged.create()
        try Data("result".utf8).write(to: staged.file("model.safetensors"))
        // Someone else creates the destination while the run writes.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("theirs".utf8).write(to: out.appendingPathComponent("theirs.txt"))
        let error = #expect(throws: OutputDirectoryError.self) { try staged.commit() }
        #expect(error?.localizedDescription == "--out \(out.path) was created by someone else while this run was writing; the result is kept in \(staged.staging.path)")
        staged.discard()
        #expect(try String(contentsOf: out.appendingPathComponent("theirs.txt"), encoding: .utf8) == "theirs")
        #expect(try String(contentsOf: staged.file("model.safetensors"), encoding: .utf8) == "result", "the result was lost")
    }

    @Test func forceReplacesOnlyTheDirectoryItChecked() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data().write(to: out.appendingPathComponent(StagedDirectory.markerFileName))
        let staged = try StagedDirectory(destination: out, force: true, runID: "b")
        try staged.create()
        // The checked directory is swapped for another one before the rename (moved, not deleted,
        // so the new one cannot reuse its inode).
        try FileManager.default.moveItem(at: out, to: dir.appendingPathComponent("moved"))
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("new".utf8).write(to: out.appendingPathComponent("new.txt"))
        #expect(throws: OutputDirectoryError.self) { try staged.commit() }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("new.txt").path))

        // Unchanged, it is replaced, and nothing is left beside it.
        let again = try StagedDirectory(destination: dir.appendingPathComponent("own"), force: false, runID: "c")
        try again.create()
        try again.commit()
        let replace = try StagedDirectory(destination: dir.appendingPathComponent("own"), force: true, runID: "d")
        try replace.create()
        try Data("second".utf8).write(to: replace.file("x"))
        try replace.commit()
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("own/x").path))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == ["moved", "out", "out.tmp-b", "own"], "\(left)")
    }

    @Test func secondRunOnOneOutIsLockedOut() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let out = dir.appendingPathComponent("out")
        let first = try StagedDirectory(destination: out, force: false, runID: "1")
        let error = #expect(throws: OutputDirectoryError.self) { _ = try StagedDirectory(destination: out, force: false, runID: "2") }
        #expect(error?.localizedDescription.contains("is in use by another owlprune run") == true)
        first.discard()
        let third = try StagedDirectory(destination: out, force: false, runID: "3")  // the lock was released
        third.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
