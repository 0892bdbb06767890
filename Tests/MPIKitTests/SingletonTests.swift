import MPIKit
import Testing

/// The one test in the suite that initialises MPI inside the test runner (docs/platform.md: MPI can be
/// initialised once per process, and a plain process is rank 0 of 1). Everything multi-rank is
/// tested through mpiexec in IntegrationTests.
@Suite struct SingletonTests {
    @Test func collectivesAndSelfMessagesOnOneRank() throws {
        let world = try Communicator.initializeWorld()
        #expect(world.rank == 0 && world.size == 1)
        #expect(try world.allreduceSum([1.5, -2]) == [1.5, -2])
        #expect(try world.allreduceMax([7]) == [7] && world.allreduceMin([3]) == [3])
        #expect(try world.broadcast([1, 2, 3], root: 0) == [1, 2, 3])
        #expect(try world.gatherBytes([9, 8], root: 0) == [[9, 8]])
        let receive = try world.irecv(count: 3, from: 0, tag: 5)
        let send = try world.isend([1, 2, 3], to: 0, tag: 5)
        #expect(try receive.wait() == [1, 2, 3])
        _ = try send.wait()
        #expect(!world.processorName.isEmpty)
    }
}
