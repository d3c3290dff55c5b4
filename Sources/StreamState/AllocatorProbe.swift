internal import CJemalloc
import Foundation

/// jemalloc's process-wide figures for the state metrics (StreamOps has the full `JemallocStats`).
enum AllocatorProbe {
    /// `stats.allocated` and `stats.resident` after refreshing jemalloc's counters; nil when mallctl
    /// does not answer (jemalloc not linked, or built without statistics).
    static func jemalloc() -> (allocated: Int, resident: Int)? {
        // Writing "epoch" makes jemalloc refresh the cached statistics.
        var epoch: UInt64 = 1
        guard mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size) == 0 else { return nil }
        guard let allocated = read("stats.allocated"), let resident = read("stats.resident") else { return nil }
        return (allocated, resident)
    }

    private static func read(_ name: String) -> Int? {
        var value = 0
        var size = MemoryLayout<Int>.size
        return mallctl(name, &value, &size, nil, 0) == 0 ? value : nil
    }

    /// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 when unreadable.
    static func procStatus(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return 0
    }
}
