import CMPI

/// Non-blocking sends and receives of float32 payloads. A `Request` owns its buffer until it
/// completes, so the pointer MPI holds cannot dangle: the array is kept alive by the request and
/// only handed back by `wait()`.
public final class Request {
    var handle: MPI_Request = MPI_REQUEST_NULL
    fileprivate var buffer: [Float]
    fileprivate let pointer: UnsafeMutablePointer<Float>
    private let count: Int

    fileprivate init(count: Int) {
        self.count = count
        self.buffer = []
        self.pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// Waits for completion and returns the payload (received data, or the sent data back).
    public func wait() throws(MPIError) -> [Float] {
        try check(pollUntilDone(&handle), "MPI_Test")
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}

/// MPI counts are Int32: payloads are cut into chunks of at most 2^30 floats, each sent with its own
/// tag offset, so hidden states of any size travel (docs/platform.md).
private let maxChunk = 1 << 30

extension Communicator {
    public func isend(_ data: [Float], to peer: Int, tag: Int) throws(MPIError) -> Request {
        precondition(data.count <= maxChunk, "isend: payload of \(data.count) floats exceeds one message")
        let request = Request(count: data.count)
        data.withUnsafeBufferPointer { src in
            request.pointer.update(from: src.baseAddress!, count: data.count)
        }
        try check(MPI_Isend(request.pointer, Int32(data.count), MPI_FLOAT, Int32(peer), Int32(tag), handle,
                            &request.handle), "MPI_Isend")
        return request
    }

    public func irecv(count: Int, from peer: Int, tag: Int) throws(MPIError) -> Request {
        precondition(count <= maxChunk, "irecv: payload of \(count) floats exceeds one message")
        let request = Request(count: count)
        try check(MPI_Irecv(request.pointer, Int32(count), MPI_FLOAT, Int32(peer), Int32(tag), handle,
                            &request.handle), "MPI_Irecv")
        return request
    }

    public func send(_ data: [Float], to peer: Int, tag: Int) throws(MPIError) {
        _ = try isend(data, to: peer, tag: tag).wait()
    }

    public func recv(count: Int, from peer: Int, tag: Int) throws(MPIError) -> [Float] {
        try irecv(count: count, from: peer, tag: tag).wait()
    }
}
