import Foundation

/// A byte count as people read it: one decimal in the largest binary unit that keeps the value
/// at least 1 (`1.5 GiB`, `320.0 MiB`, `96.0 KiB`, `512 bytes`). A fixed `%.2f GB` printed a tiny
/// model's memory bound as `0.00 GB`, which reads as a broken estimate (issue 26 item 5).
public func byteCountText(_ bytes: Double) -> String {
    for (unit, scale) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= Double(scale) {
        return String(format: "%.1f %@", bytes / Double(scale), unit)
    }
    return String(format: "%.0f bytes", bytes)
}
