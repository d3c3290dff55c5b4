import StreamCore

/// How the progress of a run is shown on stderr.
public enum ProgressMode: Sendable, Hashable {
    case off
    /// One line, redrawn in place every two seconds (stderr is a terminal); other log lines clear it first.
    case inPlace
    /// A plain log line every so many milliseconds (stderr is a pipe or a file: cron, CI, a log collector).
    case lines(everyMs: Int64)
}

/// The progress on stderr: rows, rate, lag, the busiest stage and the ETA.
public final class ProgressReporter {
    let job: Job
    let mode: ProgressMode
    private var last: JobSnapshot
    private var lastPrintNs: UInt64

    public init(job: Job, mode: ProgressMode) {
        self.job = job
        self.mode = mode
        last = job.snapshot()
        lastPrintNs = last.takenAtNs
    }

    private var everyNs: UInt64? {
        switch mode {
        case .off: return nil
        case .inPlace: return 2_000_000_000
        case .lines(let ms): return UInt64(max(1, ms)) * 1_000_000
        }
    }

    public func tick() {
        guard let everyNs else { return }
        let now = job.snapshot()
        guard now.takenAtNs &- lastPrintNs >= everyNs else { return }
        let line = Self.line(now: now, since: last)
        if mode == .inPlace {
            RunLog.writeProgress(line)
        } else {
            RunLog.write("progress: " + line)
        }
        last = now
        lastPrintNs = now.takenAtNs
    }

    /// Takes the in-place line off the terminal, so the summary starts on a line of its own.
    public func finish() { RunLog.clearProgress() }

    /// The progress text between two snapshots: rows read, source rate, lag, the busiest stage and the ETA.
    public static func line(now: JobSnapshot, since last: JobSnapshot) -> String {
        let rates = now.rates(since: last)
        let sourceRate = rates.filter { $0.stage == "source" }.reduce(0) { $0 + $1.rowsOutPerSecond }
        let rows = now.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        let lag = now.sourceLag
        var busiest = ""
        var stageBusy: [String: Double] = [:]
        for r in rates { stageBusy[r.stage, default: 0] = max(stageBusy[r.stage, default: 0], r.busyMsPerSecond) }
        if let top = stageBusy.max(by: { $0.value < $1.value }) {
            // Busy time sampled at slightly different instants than the interval can add up past 1000 ms/s.
            busiest = "\(top.key) \(min(100, Int((top.value / 10).rounded())))% busy"
        }
        var line = "rows \(rows.short)  rate \(Int64(sourceRate).short)/s  lag \(lag.short)  \(busiest)"
        if lag > 0 {
            line += sourceRate > 0 ? "  eta \(eta(seconds: Double(lag) / sourceRate))" : "  eta unknown"
        }
        return line
    }

    /// `<1s`, `42s`, `3m05s`, `2h10m`: rounded up, so rows still behind never show as `0s`.
    static func eta(seconds: Double) -> String {
        guard seconds.isFinite else { return "unknown" }
        if seconds < 1 { return "<1s" }
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + String(format2(s % 60)) + "s" }
        return "\(s / 3600)h" + String(format2(s / 60 % 60)) + "m"
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
