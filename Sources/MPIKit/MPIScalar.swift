import CMPI

/// A Swift number type with a fixed MPI datatype, so one generic collective serves every element
/// type and callers never shuffle bytes to move floats or counts.
public protocol MPIScalar: Numeric, Sendable {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_FLOAT } }
extension Double: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_DOUBLE } }
extension UInt64: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_UINT64_T } }
extension Int64: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_INT64_T } }
extension Int32: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_INT32_T } }
extension UInt8: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_UINT8_T } }
/// Swift's Int is 64 bits on every platform owlprune builds for (Linux x86-64 and arm64).
extension Int: MPIScalar { public static var mpiDatatype: MPI_Datatype { MPI_INT64_T } }

/// The reductions owlprune uses. Sums are exact only where the design makes them so (each rank
/// contributes its own entries and zeros elsewhere, or integers).
public enum ReduceOperation: Sendable {
    case sum, min, max

    var handle: MPI_Op {
        switch self {
        case .sum: cmpi_sum()
        case .min: cmpi_min()
        case .max: cmpi_max()
        }
    }
}
