import Foundation
import Testing
@testable import Checkpoint

/// Issue 23 item 4: `AtomicFile` is the one path every writer puts a file in place by. A reader
/// sees the old file or the whole new one; a failure or a drop leaves the destination as it was and
/// no temporary name behind; an error is one line naming the destination.
@Suite struct AtomicFileTests {
    @Test func aCommittedFileReplacesTheDestinationWhole() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let destination = dir.appendingPathComponent("plan.json")
        try Data("old".utf8).write(to: destination)
        let file = try AtomicFile(beside: destination)
        try file.write(Data("new, ".utf8))
        // Before the rename the reader still sees the old bytes (the control for the check below).
        #expect(try Data(contentsOf: destination) == Data("old".utf8))
        try file.write(Data("whole".utf8))
        try file.commit()
        #expect(try Data(contentsOf: destination) == Data("new, whole".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["plan.json"])
    }

    @Test func discardingOrDroppingLeavesTheDestinationAsItWas() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let destination = dir.appendingPathComponent("sweep.csv")
        try Data("kept".utf8).write(to: destination)
        let discarded = try AtomicFile(beside: destination)
        try discarded.write(Data("lost".utf8))
        discarded.discard()
        discarded.discard()  // twice is harmless
        #expect(throws: CheckpointError.self) { try discarded.commit() }
        do {
            let dropped = try AtomicFile(beside: destination)
            try dropped.write(Data("lost too".utf8))
        }
        #expect(try Data(contentsOf: destination) == Data("kept".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["sweep.csv"])
    }

    @Test func aMissingDirectoryIsOneLineNamingTheDestination() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let destination = dir.appendingPathComponent("absent/x.ids")
        do {
            try AtomicFile.write(Data([1, 2, 3]), to: destination)
            Issue.record("writing into a missing directory succeeded")
        } catch {
            #expect(error.localizedDescription == "\(destination.path): open failed: No such file or directory")
        }
    }

    @Test func aDestinationSymlinkIsReplacedNotFollowed() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let victim = dir.appendingPathComponent("someone-elses-file")
        try Data("theirs".utf8).write(to: victim)
        let destination = dir.appendingPathComponent("out.json")
        try FileManager.default.createSymbolicLink(at: destination, withDestinationURL: victim)
        try AtomicFile.write(Data("ours".utf8), to: destination)
        // The rename replaces the link itself; the file it pointed at is untouched.
        #expect(try Data(contentsOf: victim) == Data("theirs".utf8))
        #expect(try Data(contentsOf: destination) == Data("ours".utf8))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: destination.path)) == nil)
    }
}
