/// A workload profile: the runtime knobs that differ between backfill, steady and seasonal running.
public struct Profile: Sendable, Hashable {
    public var name: String
    /// Worker threads of each operator unless the operator sets its own.
    public var parallelism: Int
    /// Per-operator parallelism by operator id (`source`, `sink` or an operator's id).
    public var operatorParallelism: [String: Int]
    /// Rows per batch read from a source.
    public var batchSize: Int
    /// Batches a channel between operators holds before its sender blocks.
    public var channelCapacity: Int
    public var checkpointIntervalMs: Int64
    public var checkpointTimeoutMs: Int64
    public var checkpointMinPauseMs: Int64
    public var checkpointIncremental: Bool
    public var checkpointTolerableFailures: Int
    /// librdkafka `fetch.max.bytes`.
    public var kafkaFetchMaxBytes: Int
    /// librdkafka `queued.max.messages.kbytes`: the bound on the client's prefetch queue.
    public var kafkaQueuedMaxKBytes: Int
    /// Sink throttle; nil is unthrottled.
    public var sinkRecordsPerSecond: Int?
    public var sinkBytesPerSecond: Int64?
    /// Cap on concurrently open part files (file sink) or in-flight requests (Kafka sink).
    public var sinkMaxOpen: Int
    /// Longest a row may wait in a partly filled batch before it is sent on.
    public var flushLatencyMs: Int64
    /// Watermark alignment: splits ahead of the slowest by more than this are paused; nil is off.
    public var watermarkMaxDriftMs: Int64?

    public init(
        name: String, parallelism: Int = 2, operatorParallelism: [String: Int] = [:], batchSize: Int = 4096,
        channelCapacity: Int = 8, checkpointIntervalMs: Int64 = 60_000, checkpointTimeoutMs: Int64 = 600_000,
        checkpointMinPauseMs: Int64 = 0, checkpointIncremental: Bool = true, checkpointTolerableFailures: Int = 3,
        kafkaFetchMaxBytes: Int = 52_428_800, kafkaQueuedMaxKBytes: Int = 65_536, sinkRecordsPerSecond: Int? = nil,
        sinkBytesPerSecond: Int64? = nil, sinkMaxOpen: Int = 64, flushLatencyMs: Int64 = 100,
        watermarkMaxDriftMs: Int64? = nil
    ) {
        self.name = name
        self.parallelism = parallelism
        self.operatorParallelism = operatorParallelism
        self.batchSize = batchSize
        self.channelCapacity = channelCapacity
        self.checkpointIntervalMs = checkpointIntervalMs
        self.checkpointTimeoutMs = checkpointTimeoutMs
        self.checkpointMinPauseMs = checkpointMinPauseMs
        self.checkpointIncremental = checkpointIncremental
        self.checkpointTolerableFailures = checkpointTolerableFailures
        self.kafkaFetchMaxBytes = kafkaFetchMaxBytes
        self.kafkaQueuedMaxKBytes = kafkaQueuedMaxKBytes
        self.sinkRecordsPerSecond = sinkRecordsPerSecond
        self.sinkBytesPerSecond = sinkBytesPerSecond
        self.sinkMaxOpen = sinkMaxOpen
        self.flushLatencyMs = flushLatencyMs
        self.watermarkMaxDriftMs = watermarkMaxDriftMs
    }

    /// Every knob with its value as text, in a fixed order: what a switch logs as changed.
    public var knobs: [(name: String, value: String)] {
        func ms(_ v: Int64) -> String { "\(v)ms" }
        return [
            ("parallelism", String(parallelism)),
            ("operator_parallelism", operatorParallelism.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",")),
            ("batch_size", String(batchSize)), ("channel_capacity", String(channelCapacity)),
            ("checkpoint.interval", ms(checkpointIntervalMs)), ("checkpoint.timeout", ms(checkpointTimeoutMs)),
            ("checkpoint.min_pause", ms(checkpointMinPauseMs)), ("checkpoint.incremental", String(checkpointIncremental)),
            ("checkpoint.tolerable_failures", String(checkpointTolerableFailures)),
            ("kafka.fetch_max_bytes", String(kafkaFetchMaxBytes)), ("kafka.queued_max_kbytes", String(kafkaQueuedMaxKBytes)),
            ("sink.records_per_second", sinkRecordsPerSecond.map(String.init) ?? "unlimited"),
            ("sink.bytes_per_second", sinkBytesPerSecond.map(String.init) ?? "unlimited"),
            ("sink.max_open", String(sinkMaxOpen)), ("flush_latency", ms(flushLatencyMs)),
            ("watermark.max_drift", watermarkMaxDriftMs.map(ms) ?? "off"),
        ]
    }

    /// The parallelism of operator `id`, given what the pipeline file pinned.
    public func parallelism(of id: String, pinned: Int?) -> Int {
        pinned ?? operatorParallelism[id] ?? parallelism
    }

    /// The built-in defaults, used when no profile file is found.
    public static let builtIn: [String: Profile] = [
        "backfill": Profile(
            name: "backfill", parallelism: 2, batchSize: 8192, channelCapacity: 16, checkpointIntervalMs: 600_000,
            checkpointTimeoutMs: 1_800_000, checkpointIncremental: true, kafkaFetchMaxBytes: 104_857_600,
            kafkaQueuedMaxKBytes: 262_144, flushLatencyMs: 1_000, watermarkMaxDriftMs: nil),
        "steady": Profile(
            name: "steady", parallelism: 1, batchSize: 1024, channelCapacity: 4, checkpointIntervalMs: 10_000,
            checkpointTimeoutMs: 60_000, checkpointIncremental: true, kafkaFetchMaxBytes: 10_485_760,
            kafkaQueuedMaxKBytes: 32_768, flushLatencyMs: 50, watermarkMaxDriftMs: 60_000),
        "seasonal": Profile(
            name: "seasonal", parallelism: 2, batchSize: 4096, channelCapacity: 8, checkpointIntervalMs: 30_000,
            checkpointTimeoutMs: 120_000, checkpointIncremental: true, kafkaFetchMaxBytes: 52_428_800,
            kafkaQueuedMaxKBytes: 131_072, sinkRecordsPerSecond: 200_000, flushLatencyMs: 200,
            watermarkMaxDriftMs: 300_000),
    ]

    /// Applies per-pipeline overrides on top of this profile.
    public func applying(_ o: ProfileOverrides) -> Profile {
        var p = self
        if let v = o.parallelism { p.parallelism = v }
        p.operatorParallelism.merge(o.operatorParallelism) { $1 }
        if let v = o.batchSize { p.batchSize = v }
        if let v = o.channelCapacity { p.channelCapacity = v }
        if let v = o.checkpointIntervalMs { p.checkpointIntervalMs = v }
        if let v = o.checkpointTimeoutMs { p.checkpointTimeoutMs = v }
        if let v = o.checkpointMinPauseMs { p.checkpointMinPauseMs = v }
        if let v = o.checkpointIncremental { p.checkpointIncremental = v }
        if let v = o.checkpointTolerableFailures { p.checkpointTolerableFailures = v }
        if let v = o.kafkaFetchMaxBytes { p.kafkaFetchMaxBytes = v }
        if let v = o.kafkaQueuedMaxKBytes { p.kafkaQueuedMaxKBytes = v }
        if let v = o.sinkRecordsPerSecond { p.sinkRecordsPerSecond = v }
        if let v = o.sinkBytesPerSecond { p.sinkBytesPerSecond = v }
        if let v = o.sinkMaxOpen { p.sinkMaxOpen = v }
        if let v = o.flushLatencyMs { p.flushLatencyMs = v }
        if let v = o.watermarkMaxDriftMs { p.watermarkMaxDriftMs = v }
        return p
    }
}

/// Knobs a profile file or a pipeline's `profiles.overrides.NAME` sets; nil leaves the base value.
public struct ProfileOverrides: Sendable, Hashable {
    public var parallelism: Int?
    public var operatorParallelism: [String: Int] = [:]
    public var batchSize: Int?
    public var channelCapacity: Int?
    public var checkpointIntervalMs: Int64?
    public var checkpointTimeoutMs: Int64?
    public var checkpointMinPauseMs: Int64?
    public var checkpointIncremental: Bool?
    public var checkpointTolerableFailures: Int?
    public var kafkaFetchMaxBytes: Int?
    public var kafkaQueuedMaxKBytes: Int?
    public var sinkRecordsPerSecond: Int?
    public var sinkBytesPerSecond: Int64?
    public var sinkMaxOpen: Int?
    public var flushLatencyMs: Int64?
    public var watermarkMaxDriftMs: Int64?

    public init() {}
}
