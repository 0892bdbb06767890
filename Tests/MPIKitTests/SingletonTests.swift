import MPIKit
import TestSupport
import Testing

/// MPI inside the test runner, on one rank (docs/platform.md: MPI can be initialised once per
/// process, and a plain process is rank 0 of 1). The application library's tests (OwlPruneKitTests)
/// use the same world; both hold `MPITestLock`. Everything multi-rank is tested through mpiexec in
/// IntegrationTests.
@Suite struct SingletonTests {
    @Test func collectivesAndSelfMessagesOnOneRank() throws {
        try MPITestLock.run { try collectivesAndSelfMessages() }
    }

    private func collectivesAndSelfMessages() throws {
        let world = try Communicator.initializeWorld()
        #expect(world.rank == 0 && world.size == 1)
        #expect(try world.allreduceSum([1.5, -2]) == [1.5, -2])
        #expect(try world.allreduceMax([7]) == [7] && world.allreduceMin([3]) == [3])
        #expect(try world.broadcast([UInt8(1), 2, 3], root: 0) == [1, 2, 3])
        #expect(try world.broadcast([Int](), root: 0) == [])
        #expect(try world.broadcast(value: 2.5, root: 0) == 2.5)
        #expect(try world.gather([UInt8(9), 8], root: 0) == [[9, 8]])
        #expect(try world.gather([Int.max, -1], root: 0) == [[Int.max, -1]])
        let receive = try world.irecv(count: 3, from: 0, tag: 5)
        let send = try world.isend([Float(1), 2, 3], to: 0, tag: 5)
        #expect(try receive.wait() == [1, 2, 3])
        _ = try send.wait()
        // Other ranks' progress arrives in no fixed order: probe says who sent, the receive takes it.
        #expect(try world.probe(tag: 6) == nil)
        let counts = try world.isend([Int64(4), 7], to: 0, tag: 6)
        var from: Int? = nil
        while from == nil { from = try world.probe(tag: 6) }
        #expect(from == 0)
        #expect(try world.recv(Int64.self, count: 2, from: 0, tag: 6) == [4, 7])
        _ = try counts.wait()
        // A receive dropped before its message arrives is cancelled, never completed into freed
        // memory: a message sent afterwards on its tag is still unmatched, for the next receive.
        // Were the dropped receive left posted, it would take the message (into freed memory) and
        // the probe would never see it; before issue 23 this probed a tag nothing was sent on.
        do { _ = try world.irecv(count: 2, from: 0, tag: 7) }
        let late = try world.isend([Float(5), 6], to: 0, tag: 7)
        var lateFrom: Int? = nil
        for _ in 0..<100_000 where lateFrom == nil { lateFrom = try world.probe(tag: 7) }
        #expect(lateFrom == 0)
        #expect(try world.recv(count: 2, from: 0, tag: 7) == [5, 6])
        _ = try late.wait()
        #expect(!world.processorName.isEmpty)
        // A split communicator works as a world of its own and is freed once its work is done;
        // freeing the world is a no-op (freeing MPI_COMM_WORLD is erroneous, so this would fail).
        let group = try world.split(color: 0, key: 0)
        #expect(group.rank == 0 && group.size == 1 && group.handle != world.handle)
        #expect(try group.allreduceSum([4.25]) == [4.25])
        try group.free()
        try world.free()
        #expect(try world.allreduceSum([1]) == [1])
    }
}
