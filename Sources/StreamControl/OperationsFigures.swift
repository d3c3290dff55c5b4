import StreamCore

/// One source partition as a source worker last saw it: lag, newest event time and watermark.
public struct PartitionFigures: Sendable, Hashable {
    /// The Kafka topic; for a file or generator source its kind (`file`, `generator`).
    public var topic: String
    /// The Kafka partition; the file's or shard's index otherwise.
    public var partition: Int
    /// The source worker reading it.
    public var worker: Int
    public var lagRows: Int64?
    public var newestEventTimeMs: Int64?
    public var watermarkMs: Int64?

    public init(
        topic: String, partition: Int, worker: Int, lagRows: Int64?, newestEventTimeMs: Int64?, watermarkMs: Int64?
    ) {
        self.topic = topic
        self.partition = partition
        self.worker = worker
        self.lagRows = lagRows
        self.newestEventTimeMs = newestEventTimeMs
        self.watermarkMs = watermarkMs
    }

    /// The split figures of every source worker of `job`, named: a Kafka split is `topicIndex << 20 | partition`.
    public static func of(_ job: JobSnapshot, source: SourceKind) -> [PartitionFigures] {
        var out: [PartitionFigures] = []
        for w in job.workers where w.stage == "source" {
            for s in w.splits {
                let topic: String
                let partition: Int
                switch source {
                case .kafka(let k):
                    let index = s.split >> 20
                    topic = index < k.topics.count ? k.topics[index] : "topic-\(index)"
                    partition = s.split & 0xFFFFF
                case .file: (topic, partition) = ("file", s.split)
                case .generator: (topic, partition) = ("generator", s.split)
                }
                out.append(
                    PartitionFigures(
                        topic: topic, partition: partition, worker: w.worker, lagRows: s.lagRows,
                        newestEventTimeMs: s.newestEventTimeMs, watermarkMs: s.watermarkMs))
            }
        }
        // A partition two workers report at once (a rebalance in flight) is listed once: the higher worker's.
        var seen = Set<String>()
        return out.reversed().filter { seen.insert("\($0.topic)/\($0.partition)").inserted }
            .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}

/// The checkpoint coordinator's counts and the last completed checkpoint's figures.
public struct CheckpointFigures: Sendable, Hashable {
    public var completed: Int
    /// Did not complete for another reason than `aborted` (a file that could not be written, the job ended).
    public var failed: Int
    /// Cancelled past `checkpoint.timeout`, or declined by a worker.
    public var aborted: Int
    public var lastId: Int64?
    public var lastDurationMs: Int64?
    public var lastPauseMs: Int64?
    public var lastSizeBytes: Int64?
    public var lastCopiedBytes: Int64?
    public var restoredFrom: Int64?

    public init(
        completed: Int, failed: Int, aborted: Int, lastId: Int64? = nil, lastDurationMs: Int64? = nil,
        lastPauseMs: Int64? = nil, lastSizeBytes: Int64? = nil, lastCopiedBytes: Int64? = nil,
        restoredFrom: Int64? = nil
    ) {
        self.completed = completed
        self.failed = failed
        self.aborted = aborted
        self.lastId = lastId
        self.lastDurationMs = lastDurationMs
        self.lastPauseMs = lastPauseMs
        self.lastSizeBytes = lastSizeBytes
        self.lastCopiedBytes = lastCopiedBytes
        self.restoredFrom = restoredFrom
    }
}

/// The last profile switch: where from and to, and what it cost.
public struct SwitchFigures: Sendable, Hashable {
    public var from: String
    public var to: String
    public var reason: String
    /// How long rows stopped flowing (stop-the-world), milliseconds.
    public var pauseMs: Int64
    /// From the request to the last barrier it took, milliseconds.
    public var appliedMs: Int64

    public init(from: String, to: String, reason: String, pauseMs: Int64, appliedMs: Int64) {
        self.from = from
        self.to = to
        self.reason = reason
        self.pauseMs = pauseMs
        self.appliedMs = appliedMs
    }
}

/// Bad records by reason (`DecodeError.reason`), and the policy that handled them.
public struct BadRecordFigures: Sendable, Hashable {
    /// `skip` or `dead_letter`.
    public var policy: String
    public var byReason: [String: Int]

    public init(policy: String, byReason: [String: Int]) {
        self.policy = policy
        self.byReason = byReason
    }
}
