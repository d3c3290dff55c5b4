import StreamCore
import StreamOps

/// The one-line JSON summary a cron job or CI step reads.
public struct RunSummary: Sendable {
    public var pipeline: String
    public var status: String
    public var error: String?
    public var profile: String
    /// The job's figures at the end; nil when the run failed before a job existed.
    public var snapshot: JobSnapshot?
    public var lagLeft: Int64
    public var badRecords: Int
    public var durationMs: Int64
    public var output: String
    public var peakRSS: Int
    /// The run was stopped early and the file sink committed `_partial-part-*` files.
    public var partialOutput = false
    /// Profile switches while the job ran.
    public var profileSwitches = 0
    /// What those switches cost: milliseconds rows stopped flowing (stop-the-world), in all and at the worst.
    public var profileSwitchPauseMs: (total: Int64, max: Int64) = (0, 0)
    /// Checkpoints taken (and the one resumed from), when the pipeline has them.
    public var checkpoints: CheckpointStats?

    public init(
        pipeline: String, status: String, error: String?, profile: String, snapshot: JobSnapshot?, lagLeft: Int64,
        badRecords: Int, durationMs: Int64, output: String, peakRSS: Int
    ) {
        self.pipeline = pipeline
        self.status = status
        self.error = error
        self.profile = profile
        self.snapshot = snapshot
        self.lagLeft = lagLeft
        self.badRecords = badRecords
        self.durationMs = durationMs
        self.output = output
        self.peakRSS = peakRSS
    }

    public var json: String {
        let workers = snapshot?.workers ?? []
        let source = workers.filter { $0.stage == "source" }
        let sink = workers.filter { $0.stage == "sink" }
        let late = workers.reduce(Int64(0)) { $0 + $1.lateRows }
        var fields: [(String, String)] = [
            ("pipeline", JSONText.quote(pipeline)), ("status", JSONText.quote(status)),
            ("rows_in", String(source.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("rows_out", String(sink.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("data_loss_offsets", String(source.reduce(Int64(0)) { $0 + ($1.extra["data_loss_offsets"] ?? 0) })),
            ("late_rows", String(late)), ("bad_records", String(badRecords)), ("lag_left", String(lagLeft)),
            ("duration_ms", String(durationMs)), ("profile", JSONText.quote(profile)), ("profile_switches", String(profileSwitches)),
            ("profile_switch_pause_ms", String(profileSwitchPauseMs.total)),
            ("profile_switch_pause_ms_max", String(profileSwitchPauseMs.max)),
            ("output", JSONText.quote(output)), ("peak_rss_bytes", String(peakRSS)),
            ("stage_busy_ms", stageBusy),
        ]
        if partialOutput { fields.append(("partial_output", "true")) }
        if let c = checkpoints {
            fields.append(("checkpoints_completed", String(c.completed)))
            fields.append(("checkpoints_failed", String(c.failed)))
            fields.append(("checkpoints_aborted", String(c.aborted)))
            if let id = c.lastId { fields.append(("last_checkpoint", String(id))) }
            if let ms = c.lastPauseMs { fields.append(("last_checkpoint_pause_ms", String(ms))) }
            fields.append(("restored_from", c.restoredFrom.map(String.init) ?? "null"))
        }
        if let error { fields.append(("error", JSONText.quote(error))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

extension RunSummary {
    /// Busy milliseconds per stage, in stage order: which stage limited the run.
    var stageBusy: String {
        var order: [String] = []
        var busy: [String: Int64] = [:]
        for w in snapshot?.workers ?? [] {
            if busy[w.stage] == nil { order.append(w.stage) }
            busy[w.stage, default: 0] += w.busyNs / 1_000_000
        }
        return "{" + order.map { "\(JSONText.quote($0)):\(busy[$0]!)" }.joined(separator: ",") + "}"
    }

    /// The summary of a run that ended before its job started (a configuration error, a held lock, state
    /// or output left by an earlier run): cron jobs read one line whatever happened.
    public static func notStarted(
        pipeline: String, status: String = "failed", error: String, profile: String, output: String,
        startedNs: UInt64, clock: any StreamClock = SystemClock()
    ) -> RunSummary {
        RunSummary(
            pipeline: pipeline, status: status, error: error, profile: profile, snapshot: nil, lagLeft: 0,
            badRecords: 0, durationMs: Int64((clock.monotonicNs() &- startedNs) / 1_000_000), output: output,
            peakRSS: ProcessMemory.peakResidentBytes())
    }

    /// Writes the line to stderr and, when given, appends it to `file`.
    public func emit(to file: String?) {
        let line = json
        RunLog.writeLine(line)
        if let file { AppendFile(path: file).append(Array((line + "\n").utf8)) }
    }
}
