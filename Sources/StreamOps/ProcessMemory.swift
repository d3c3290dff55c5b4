import Foundation

/// The process's memory as the kernel sees it (/proc/self/status), to hold against the state budget.
public enum ProcessMemory {
    /// Resident set size now (VmRSS), in bytes; 0 when unreadable.
    public static func residentBytes() -> Int { statusField("VmRSS") }

    /// Peak resident set size since start (VmHWM), in bytes; 0 when unreadable.
    public static func peakResidentBytes() -> Int { statusField("VmHWM") }

    /// CPUs the process may use: the cgroup's CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) rounded up,
    /// capped by the CPUs it may run on. Sizes thread pools and jemalloc arenas in a container.
    public static func availableCPUs() -> Int {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        if let quota = cgroupQuota() { return max(1, min(cpus, Int(quota.rounded(.up)))) }
        return max(1, cpus)
    }

    private static func cgroupQuota() -> Double? {
        if let text = read("/sys/fs/cgroup/cpu.max") {
            let parts = text.split(separator: " ")
            if parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), period > 0 {
                return quota / period
            }
            return nil  // "max": no quota
        }
        if let quotaText = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), let quota = Double(quotaText), quota > 0,
            let periodText = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"), let period = Double(periodText), period > 0
        {
            return quota / period
        }
        return nil
    }

    private static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func statusField(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            // "VmRSS:     12345 kB"
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return 0
    }
}
