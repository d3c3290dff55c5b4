import StreamCore

/// The progress line on stderr: rows, rate, lag and the busiest stage, every two seconds.
public final class ProgressReporter {
    let job: Job
    let enabled: Bool
    private var last: JobSnapshot
    private var lastPrintNs: UInt64

    public init(job: Job, enabled: Bool) {
        self.job = job
        self.enabled = enabled
        last = job.snapshot()
        lastPrintNs = last.takenAtNs
    }

    public func tick() {
        guard enabled else { return }
        let now = job.snapshot()
        guard now.takenAtNs &- lastPrintNs >= 2_000_000_000 else { return }
        let rates = now.rates(since: last)
        let sourceRate = rates.filter { $0.stage == "source" }.reduce(0) { $0 + $1.rowsOutPerSecond }
        let rows = now.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        let lag = now.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
        var busiest = ""
        var stageBusy: [String: Double] = [:]
        for r in rates { stageBusy[r.stage, default: 0] = max(stageBusy[r.stage, default: 0], r.busyMsPerSecond) }
        if let top = stageBusy.max(by: { $0.value < $1.value }) { busiest = "\(top.key) \(Int(top.value / 10))% busy" }
        var line = "rows \(rows.short)  rate \(Int64(sourceRate).short)/s  lag \(lag.short)  \(busiest)"
        if sourceRate > 0 && lag > 0 { line += "  eta \(Int(Double(lag) / sourceRate))s" }
        RunLog.write(line)
        last = now
        lastPrintNs = now.takenAtNs
    }

    public func finish() {}
}
