import Foundation

/// A bounds-checked little-endian reader over a GGUF file's header bytes. Every read names what
/// it was reading, so a truncated or corrupt file fails with the key or tensor involved
/// (ggml `gguf.cpp`, `gguf_reader`, makes the same checks).
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0

    /// Nested arrays are legal; the cap only stops a hostile file from exhausting the stack.
    static let maxArrayDepth = 8

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw truncated(what()) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    /// A count or offset stored as uint64 that must fit in the file.
    mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let raw = try read(UInt64.self, what())
        guard raw <= UInt64(bytes.count) else {
            throw CheckpointError.ggufMalformed(file: file, reason: "\(what()) is \(raw), larger than the file")
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount("length of \(what())")
        guard remaining >= length else { throw truncated(what()) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]), as: UTF8.self)
        position += length
        return text
    }

    mutating func readValue(type: UInt32, key: String, depth: Int = 0) throws -> GGUFValue {
        let what = "value of key '\(key)'"
        switch type {
        case 0: return .uint8(try read(UInt8.self, what))
        case 1: return .int8(try read(Int8.self, what))
        case 2: return .uint16(try read(UInt16.self, what))
        case 3: return .int16(try read(Int16.self, what))
        case 4: return .uint32(try read(UInt32.self, what))
        case 5: return .int32(try read(Int32.self, what))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case 7:
            let raw = try read(UInt8.self, what)
            guard raw <= 1 else {
                throw CheckpointError.ggufMalformed(file: file, reason: "key '\(key)': bool value \(raw) is neither 0 nor 1")
            }
            return .bool(raw == 1)
        case 8: return .string(try readString(what))
        case 9:
            guard depth < Self.maxArrayDepth else {
                throw CheckpointError.ggufMalformed(file: file, reason: "key '\(key)': arrays nested deeper than \(Self.maxArrayDepth)")
            }
            let elementType = try read(UInt32.self, "array type of key '\(key)'")
            let count = try readCount("array length of key '\(key)'")
            // Each element takes at least one byte, so a count beyond the bytes left is corrupt;
            // checking before reserving keeps a bad count from allocating gigabytes.
            guard count <= remaining else { throw truncated("array of key '\(key)' (\(count) elements)") }
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(type: elementType, key: key, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint64(try read(UInt64.self, what))
        case 11: return .int64(try read(Int64.self, what))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        default:
            throw CheckpointError.ggufMalformed(file: file, reason: "key '\(key)' has unknown value type \(type)")
        }
    }

    func truncated(_ what: String) -> CheckpointError {
        .ggufMalformed(file: file, reason: "file ends at byte \(bytes.count) while reading \(what) (at byte \(position))")
    }
}

/// The parsed header of a GGUF v2/v3 file (ggml `docs/gguf.md`): magic, version, tensor and
/// key/value counts, the key/values, the tensor infos, then the data section at the next
/// multiple of `general.alignment` (default 32).
struct GGUFHeader {
    static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian
    static let defaultAlignment = 32
    static let maxDims = 4  // GGML_MAX_DIMS

    var version: UInt32 = 0
    var metadata: [String: GGUFValue] = [:]
    var tensors: [GGUFTensorInfo] = []
    var alignment = defaultAlignment
    var dataOffset = 0

    init(bytes: UnsafeRawBufferPointer, file: String) throws {
        var cursor = GGUFCursor(bytes: bytes, file: file)
        guard try cursor.read(UInt32.self, "magic") == Self.magic else {
            throw CheckpointError.ggufMalformed(file: file, reason: "not a GGUF file (magic is not 'GGUF')")
        }
        version = try cursor.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw CheckpointError.ggufUnsupported(file: file, reason: "GGUF version \(version) is not supported (2 or 3; big-endian files are not)")
        }
        let tensorCount = try cursor.readCount("tensor count")
        let keyCount = try cursor.readCount("metadata key count")
        for index in 0..<keyCount {
            let key = try cursor.readString("key #\(index)")
            let type = try cursor.read(UInt32.self, "type of key '\(key)'")
            let value = try cursor.readValue(type: type, key: key)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw CheckpointError.ggufMalformed(file: file, reason: "key '\(key)' appears twice")
            }
        }
        if let value = metadata[GGUFKey.alignment] {
            guard case let .uint32(a) = value, a > 0, a & (a - 1) == 0 else {
                throw CheckpointError.ggufMalformed(file: file, reason: "general.alignment must be a power-of-two uint32, got \(value)")
            }
            alignment = Int(a)
        }
        var infos: [(name: String, dims: [Int], type: UInt32, offset: Int)] = []
        for index in 0..<tensorCount {
            let name = try cursor.readString("name of tensor #\(index)")
            let rank = try cursor.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard rank <= Self.maxDims else {
                throw CheckpointError.ggufBadTensor(file: file, tensor: name, reason: "\(rank) dimensions, at most \(Self.maxDims) allowed")
            }
            var dims: [Int] = []
            for _ in 0..<rank { dims.append(try cursor.readCount("dimension of tensor '\(name)'")) }
            let type = try cursor.read(UInt32.self, "type of tensor '\(name)'")
            let offset = try cursor.readCount("offset of tensor '\(name)'")
            infos.append((name, dims, type, offset))
        }
        dataOffset = (cursor.position + alignment - 1) / alignment * alignment
        guard dataOffset <= bytes.count else { throw cursor.truncated("padding before the data section") }
        var names = Set<String>()
        for t in infos {
            guard names.insert(t.name).inserted else {
                throw CheckpointError.ggufBadTensor(file: file, tensor: t.name, reason: "name appears twice")
            }
            tensors.append(try Self.validate(t, dataBytes: bytes.count - dataOffset, alignment: alignment, file: file))
        }
        try Self.checkOverlaps(tensors, file: file)
    }

    /// Two tensors may not share bytes (ggml's `gguf_init_from_file` lays them out one after
    /// another, and a reader that trusted overlapping spans would read one tensor as another).
    /// Sorted by offset, a span overlaps an earlier one exactly when it starts before the furthest
    /// end seen so far; empty tensors occupy nothing.
    private static func checkOverlaps(_ tensors: [GGUFTensorInfo], file: String) throws {
        var furthest: GGUFTensorInfo?
        for t in tensors.sorted(by: { ($0.offset, $0.name) < ($1.offset, $1.name) }) where t.byteCount > 0 {
            if let prior = furthest, t.offset < prior.offset + prior.byteCount {
                throw CheckpointError.ggufOverlappingTensors(file: file, tensor: t.name, span: t.offset..<(t.offset + t.byteCount),
                                                             other: prior.name, otherSpan: prior.offset..<(prior.offset + prior.byteCount))
            }
            if furthest.map({ t.offset + t.byteCount > $0.offset + $0.byteCount }) ?? true { furthest = t }
        }
    }

    private static func validate(_ t: (name: String, dims: [Int], type: UInt32, offset: Int),
                                 dataBytes: Int, alignment: Int, file: String) throws -> GGUFTensorInfo {
        guard let type = GGMLType(rawValue: t.type) else {
            throw CheckpointError.ggufUnknownTensorType(file: file, tensor: t.name, type: t.type)
        }
        // Every product of dimensions must fit (`rows`, `elementCount`), even when a zero
        // dimension makes the byte count 0: [0, 2^40, 2^40] holds nothing but its row count overflows.
        guard nonZeroProductFits(t.dims) else {
            throw CheckpointError.ggufBadTensor(file: file, tensor: t.name, reason: "dimensions \(t.dims) overflow an element count")
        }
        let ne0 = t.dims.first ?? 1
        guard ne0 % type.blockSize == 0 else {
            throw CheckpointError.ggufBadTensor(file: file, tensor: t.name,
                                                reason: "ne[0] = \(ne0) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        var bytes = ne0 / type.blockSize * type.blockBytes
        for dim in t.dims.dropFirst() {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw CheckpointError.ggufBadTensor(file: file, tensor: t.name, reason: "dimensions \(t.dims) overflow a byte count")
            }
            bytes = product
        }
        guard t.offset % alignment == 0 else {
            throw CheckpointError.ggufBadTensor(file: file, tensor: t.name, reason: "offset \(t.offset) is not a multiple of the alignment \(alignment)")
        }
        guard t.offset <= dataBytes, bytes <= dataBytes - t.offset else {
            throw CheckpointError.ggufBadTensor(file: file, tensor: t.name,
                                                reason: "\(bytes) bytes at offset \(t.offset) run past the \(dataBytes)-byte data section")
        }
        return GGUFTensorInfo(name: t.name, type: type, dims: t.dims, offset: t.offset, byteCount: bytes)
    }
}

/// Whether the product of the non-zero entries of `dims` fits in Int; then so does every product
/// of any subset of them, which is what shape arithmetic (rows, columns, element counts) computes.
func nonZeroProductFits(_ dims: [Int]) -> Bool {
    var product = 1
    for d in dims where d != 0 {
        guard d > 0 else { return false }
        let (p, overflow) = product.multipliedReportingOverflow(by: d)
        if overflow { return false }
        product = p
    }
    return true
}
