import StreamCore

/// The `/status` document: the job now, with rates over the last second or so. `streamctl status`, `top` and
/// `graph --status` decode it; field names are snake_case and stable.
public struct JobStatus: Sendable, Codable, Hashable {
    public var pipeline: String
    public var profile: String
    public var profileSwitches: Int
    public var pid: Int32
    public var running: Bool
    public var uptimeSeconds: Double
    /// Seconds the rates were measured over.
    public var intervalSeconds: Double
    public var rowsRead: Int64
    public var lag: Int64
    public var stages: [StageStatus]
    public var workers: [WorkerStatus]
    /// The state backend's native figures (RocksDB properties), name → value.
    public var state: [String: Int64]
    public var memory: MemoryFigures
    /// Per source partition: lag in rows and event time, watermark.
    public var partitions: [PartitionStatus] = []
    /// Nil when the pipeline has no checkpoints.
    public var checkpoints: CheckpointStatus?
    public var lastProfileSwitch: ProfileSwitchStatus?
    /// Nil under `on_bad_record: fail` (the first bad record ends the run).
    public var badRecords: BadRecordStatus?

    enum CodingKeys: String, CodingKey {
        case pipeline, profile, pid, running, stages, workers, state, memory, lag, partitions, checkpoints
        case lastProfileSwitch = "last_profile_switch"
        case badRecords = "bad_records"
        case profileSwitches = "profile_switches"
        case uptimeSeconds = "uptime_seconds"
        case intervalSeconds = "interval_seconds"
        case rowsRead = "rows_read"
    }

    /// The stage's workers, in worker order.
    public func workers(of stage: String) -> [WorkerStatus] { workers.filter { $0.stage == stage } }
}

/// One worker thread of one stage.
public struct WorkerStatus: Sendable, Codable, Hashable {
    public var stage: String
    public var worker: Int
    public var rowsIn: Int64
    public var rowsOut: Int64
    public var busyMsPerSecond: Double
    public var idleMsPerSecond: Double
    public var backPressuredMsPerSecond: Double
    public var rowsInPerSecond: Double
    public var rowsOutPerSecond: Double
    /// Messages waiting in the input queues over what they may hold, 0…1; 0 for a source.
    public var inputFill: Double
    public var lateRows: Int64
    /// Event time in epoch milliseconds; nil before the first watermark.
    public var watermarkMs: Int64?
    /// What the operator or connector adds: `lag`, `throttled_ms`, `open_buckets`, `data_loss_offsets`, …
    public var figures: [String: Int64]
    /// True when it spent at least `JobStatus.backPressureThreshold` ms per second blocked on a full queue.
    public var backPressured: Bool

    enum CodingKeys: String, CodingKey {
        case stage, worker, figures
        case rowsIn = "rows_in"
        case rowsOut = "rows_out"
        case busyMsPerSecond = "busy_ms_per_second"
        case idleMsPerSecond = "idle_ms_per_second"
        case backPressuredMsPerSecond = "back_pressured_ms_per_second"
        case rowsInPerSecond = "rows_in_per_second"
        case rowsOutPerSecond = "rows_out_per_second"
        case inputFill = "input_fill"
        case lateRows = "late_rows"
        case watermarkMs = "watermark_ms"
        case backPressured = "back_pressured"
    }
}

/// A stage's workers together: the worst back pressure and fill, the summed rates.
public struct StageStatus: Sendable, Codable, Hashable {
    public var id: String
    public var parallelism: Int
    public var busyMsPerSecond: Double
    public var backPressuredMsPerSecond: Double
    public var rowsInPerSecond: Double
    public var rowsOutPerSecond: Double
    public var inputFill: Double
    public var backPressured: Bool

    enum CodingKeys: String, CodingKey {
        case id, parallelism
        case busyMsPerSecond = "busy_ms_per_second"
        case backPressuredMsPerSecond = "back_pressured_ms_per_second"
        case rowsInPerSecond = "rows_in_per_second"
        case rowsOutPerSecond = "rows_out_per_second"
        case inputFill = "input_fill"
        case backPressured = "back_pressured"
    }
}

extension JobStatus {
    /// A worker blocked on a full downstream queue at least this many ms per second counts as back-pressured.
    public static let backPressureThreshold = 100.0

    /// The status between two snapshots of one job (`earlier` nil: no rates yet).
    public init(_ now: ControlSnapshot, since earlier: JobSnapshot?, nowMs: Int64) {
        let rates = earlier.map { now.job.rates(since: $0) } ?? []
        let interval = earlier.map { Double(now.job.takenAtNs &- $0.takenAtNs) / 1e9 } ?? 0
        var workers: [WorkerStatus] = []
        for w in now.job.workers {
            let r = rates.first { $0.stage == w.stage && $0.worker == w.worker }
            let bp = max(0, r?.backPressuredMsPerSecond ?? 0)
            workers.append(
                WorkerStatus(
                    stage: w.stage, worker: w.worker, rowsIn: w.rowsIn, rowsOut: w.rowsOut,
                    // Busy time sampled at slightly different instants than the interval can pass 1000 ms/s.
                    busyMsPerSecond: min(1000, max(0, r?.busyMsPerSecond ?? 0)),
                    idleMsPerSecond: min(1000, max(0, r?.idleMsPerSecond ?? 0)),
                    backPressuredMsPerSecond: min(1000, bp),
                    rowsInPerSecond: max(0, r?.rowsInPerSecond ?? 0), rowsOutPerSecond: max(0, r?.rowsOutPerSecond ?? 0),
                    inputFill: w.inputCapacity > 0 ? min(1, Double(w.inputFill) / Double(w.inputCapacity)) : 0,
                    lateRows: w.lateRows, watermarkMs: w.watermark == .min ? nil : w.watermark, figures: w.extra,
                    backPressured: bp >= Self.backPressureThreshold))
        }
        var stages: [StageStatus] = []
        var order = now.stages
        for w in workers where !order.contains(where: { $0.id == w.stage }) { order.append((w.stage, 1)) }
        for (id, parallelism) in order {
            let ws = workers.filter { $0.stage == id }
            let bp = ws.map(\.backPressuredMsPerSecond).max() ?? 0
            stages.append(
                StageStatus(
                    id: id, parallelism: parallelism, busyMsPerSecond: ws.map(\.busyMsPerSecond).max() ?? 0,
                    backPressuredMsPerSecond: bp, rowsInPerSecond: ws.reduce(0) { $0 + $1.rowsInPerSecond },
                    rowsOutPerSecond: ws.reduce(0) { $0 + $1.rowsOutPerSecond },
                    inputFill: ws.map(\.inputFill).max() ?? 0, backPressured: bp >= Self.backPressureThreshold))
        }
        let sources = now.job.workers.filter { $0.stage == "source" }
        self.init(
            pipeline: now.pipeline, profile: now.profile, profileSwitches: now.profileSwitches, pid: now.pid,
            running: now.running, uptimeSeconds: Double(max(0, nowMs - now.startedAtMs)) / 1000,
            intervalSeconds: interval, rowsRead: sources.reduce(0) { $0 + $1.rowsIn },
            lag: sources.reduce(0) { $0 + ($1.extra["lag"] ?? 0) }, stages: stages, workers: workers,
            state: now.job.state, memory: now.memory)
        partitions = now.partitions.map { PartitionStatus($0, nowMs: nowMs) }
        checkpoints = now.checkpoints.map(CheckpointStatus.init)
        lastProfileSwitch = now.lastSwitch.map(ProfileSwitchStatus.init)
        badRecords = now.badRecords.map { BadRecordStatus(policy: $0.policy, byReason: $0.byReason) }
    }
}
