import StreamCore

/// One source partition in `/status`: rows behind its end, its watermark, and how far its newest event time
/// is behind the wall clock.
public struct PartitionStatus: Sendable, Codable, Hashable {
    public var topic: String
    public var partition: Int
    public var worker: Int
    public var lagRows: Int64?
    /// Epoch milliseconds; nil before the first event time (or without `event_time`).
    public var watermarkMs: Int64?
    public var newestEventTimeMs: Int64?
    /// Now minus the newest event time read, seconds (at least 0).
    public var eventTimeLagSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case topic, partition, worker
        case lagRows = "lag_rows"
        case watermarkMs = "watermark_ms"
        case newestEventTimeMs = "newest_event_time_ms"
        case eventTimeLagSeconds = "event_time_lag_seconds"
    }

    public init(_ p: PartitionFigures, nowMs: Int64) {
        topic = p.topic
        partition = p.partition
        worker = p.worker
        lagRows = p.lagRows
        watermarkMs = p.watermarkMs
        newestEventTimeMs = p.newestEventTimeMs
        eventTimeLagSeconds = p.newestEventTimeMs.map { Double(max(0, nowMs - $0)) / 1000 }
    }
}

/// Checkpoints in `/status`: counts since the run started and the last completed one.
public struct CheckpointStatus: Sendable, Codable, Hashable {
    public var completed: Int
    public var failed: Int
    public var aborted: Int
    public var lastId: Int64?
    public var lastDurationSeconds: Double?
    /// The stop-the-world part of the last checkpoint: stateful workers waiting for the state snapshot.
    public var lastPauseSeconds: Double?
    public var lastSizeBytes: Int64?
    public var lastCopiedBytes: Int64?
    public var restoredFrom: Int64?

    enum CodingKeys: String, CodingKey {
        case completed, failed, aborted
        case lastId = "last_id"
        case lastDurationSeconds = "last_duration_seconds"
        case lastPauseSeconds = "last_pause_seconds"
        case lastSizeBytes = "last_size_bytes"
        case lastCopiedBytes = "last_copied_bytes"
        case restoredFrom = "restored_from"
    }

    public init(_ c: CheckpointFigures) {
        completed = c.completed
        failed = c.failed
        aborted = c.aborted
        lastId = c.lastId
        lastDurationSeconds = c.lastDurationMs.map { Double($0) / 1000 }
        lastPauseSeconds = c.lastPauseMs.map { Double($0) / 1000 }
        lastSizeBytes = c.lastSizeBytes
        lastCopiedBytes = c.lastCopiedBytes
        restoredFrom = c.restoredFrom
    }
}

/// The last profile switch in `/status`.
public struct ProfileSwitchStatus: Sendable, Codable, Hashable {
    public var from: String
    public var to: String
    public var reason: String
    public var pauseSeconds: Double
    public var appliedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case from, to, reason
        case pauseSeconds = "pause_seconds"
        case appliedSeconds = "applied_seconds"
    }

    public init(_ s: SwitchFigures) {
        from = s.from
        to = s.to
        reason = s.reason
        pauseSeconds = Double(s.pauseMs) / 1000
        appliedSeconds = Double(s.appliedMs) / 1000
    }
}

/// Bad records in `/status`: the policy and the counts by reason.
public struct BadRecordStatus: Sendable, Codable, Hashable {
    public var policy: String
    public var byReason: [String: Int]

    enum CodingKeys: String, CodingKey {
        case policy
        case byReason = "by_reason"
    }
}
