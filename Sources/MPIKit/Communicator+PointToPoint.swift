import CMPI

/// A non-blocking send or receive that owns its buffer, so the memory MPI holds a pointer to
/// cannot be freed while the operation is in flight.
///
/// `wait()` completes the operation and hands the payload back; it may be called once (a second
/// call traps: the payload was already given away). A request dropped before `wait()` never frees
/// memory MPI may still touch: a receive is cancelled and completed first (MPI_Cancel of a receive
/// completes locally); a send, which may still be reading its buffer when its receiver is gone
/// (the error path before `MPI_Abort`), is released to MPI with `MPI_Request_free` and its
/// buffer deliberately leaked. Leaking on an error path is bounded by the in-flight window;
/// freeing under MPI would be memory corruption.
public final class Request<Element: MPIScalar> {
    var handle: MPI_Request = MPI_REQUEST_NULL
    private let pointer: UnsafeMutablePointer<Element>
    private let count: Int
    private let isReceive: Bool
    private var completed = false

    fileprivate init(count: Int, isReceive: Bool) {
        self.count = count
        self.isReceive = isReceive
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
    }

    deinit {
        if !completed {
            var flag: Int32 = 0
            MPI_Test(&handle, &flag, cmpi_status_ignore())
            if flag == 0 {
                if isReceive {
                    MPI_Cancel(&handle)
                    _ = pollUntilDone(&handle)
                } else {
                    MPI_Request_free(&handle)
                    return  // the buffer stays MPI's: see the type's comment
                }
            }
        }
        pointer.deallocate()
    }

    /// Waits for completion and returns the payload (received data, or the sent data back).
    public func wait() throws(MPIError) -> [Element] {
        precondition(!completed, "Request.wait() called twice")
        let rc = pollUntilDone(&handle)
        completed = true
        try check(rc, "MPI_Test")
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    fileprivate var buffer: UnsafeMutablePointer<Element> { pointer }
}

/// MPI counts are Int32: one message holds at most 2^30 elements; longer payloads are split by
/// the caller (hidden states of one window are far below it, docs/platform.md).
private let maxChunk = 1 << 30

extension Communicator {
    public func isend<T: MPIScalar>(_ data: [T], to peer: Int, tag: Int) throws(MPIError) -> Request<T> {
        precondition(data.count <= maxChunk, "isend: payload of \(data.count) elements exceeds one message")
        let request = Request<T>(count: data.count, isReceive: false)
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { request.buffer.update(from: base, count: data.count) }
        }
        try check(MPI_Isend(request.buffer, Int32(data.count), T.mpiDatatype, Int32(peer), Int32(tag), handle,
                            &request.handle), "MPI_Isend")
        return request
    }

    public func irecv<T: MPIScalar>(_ type: T.Type, count: Int, from peer: Int, tag: Int) throws(MPIError) -> Request<T> {
        precondition(count <= maxChunk, "irecv: payload of \(count) elements exceeds one message")
        let request = Request<T>(count: count, isReceive: true)
        try check(MPI_Irecv(request.buffer, Int32(count), T.mpiDatatype, Int32(peer), Int32(tag), handle,
                            &request.handle), "MPI_Irecv")
        return request
    }

    /// Float32 hidden states and statistics, the common case.
    public func irecv(count: Int, from peer: Int, tag: Int) throws(MPIError) -> Request<Float> {
        try irecv(Float.self, count: count, from: peer, tag: tag)
    }

    public func send<T: MPIScalar>(_ data: [T], to peer: Int, tag: Int) throws(MPIError) {
        _ = try isend(data, to: peer, tag: tag).wait()
    }

    public func recv(count: Int, from peer: Int, tag: Int) throws(MPIError) -> [Float] {
        try irecv(count: count, from: peer, tag: tag).wait()
    }

    public func recv<T: MPIScalar>(_ type: T.Type, count: Int, from peer: Int, tag: Int) throws(MPIError) -> [T] {
        try irecv(type, count: count, from: peer, tag: tag).wait()
    }

    /// Whether a message with `tag` from any rank is waiting, and from whom (MPI_Iprobe): lets a
    /// rank take messages that arrive in no fixed order, such as other ranks' progress.
    public func probe(tag: Int) throws(MPIError) -> Int? {
        var flag: Int32 = 0
        var status = MPI_Status()
        try check(MPI_Iprobe(MPI_ANY_SOURCE, Int32(tag), handle, &flag, &status), "MPI_Iprobe")
        return flag != 0 ? Int(status.MPI_SOURCE) : nil
    }
}
