import CMPI

/// An MPI failure: the raw code, its class and MPICH's own text, plus the call that failed.
/// MPI codes are implementation-defined, so the text is kept rather than re-derived.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let call: String

    public init(code: Int32, call: String) {
        self.code = code
        self.call = call
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(call) failed: \(text) (code \(code))"
    }
}

/// Every MPI call goes through here. The world communicator uses MPI_ERRORS_RETURN, so a failure
/// comes back as a code and leaves as a Swift error naming the call; the top level prints it and aborts.
@inline(__always)
func check(_ rc: Int32, _ call: String) throws(MPIError) {
    guard rc == MPI_SUCCESS else { throw MPIError(code: rc, call: call) }
}
