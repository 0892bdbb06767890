/// FNV-1a 64: the one non-cryptographic hash of owlprune (plan hash, window hash, run and sweep
/// fingerprints, journal checksums). Its bits are the same on every machine, process and rank,
/// which Swift's `Hasher` (seeded per process) is not; it is used to recognise, never to protect.
public struct FNV1a: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    public init() {}

    public mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    public mutating func combine<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for b in bytes { combine(b) }
    }

    /// One step per 64-bit word instead of per byte (the journal's checksum of float bit patterns:
    /// eight times fewer steps; a different hash from hashing the word's bytes).
    public mutating func combine(word: UInt64) {
        value = (value ^ word) &* Self.prime
    }

    /// The value in lower-case hexadecimal without leading zeros.
    public var hex: String { String(value, radix: 16) }
}
