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
    /// librdkafka `fetch.wait.max.ms`: how long the broker holds a fetch that has less than `fetch.min.bytes`.
    public var kafkaFetchWaitMaxMs: Int64
    /// librdkafka `fetch.min.bytes`: the least data a fetch waits for (up to `fetch.wait.max.ms`).
    public var kafkaFetchMinBytes: Int
    /// Sink throttle; nil is unthrottled.
    public var sinkRecordsPerSecond: Int?
    public var sinkBytesPerSecond: Int64?
    /// Cap on concurrently open part files (file sink) or in-flight requests (Kafka sink).
    public var sinkMaxOpen: Int
    /// Kafka sink: librdkafka `linger.ms`, how long the producer gathers messages into a request.
    public var sinkLingerMs: Int64
    /// Kafka sink: librdkafka `batch.size`, the most bytes of one partition's message batch.
    public var sinkBatchBytes: Int
    /// Longest a row may wait in a partly filled batch before it is sent on.
    public var flushLatencyMs: Int64
    /// Watermark alignment: splits ahead of the slowest by more than this are paused; nil is off.
    public var watermarkMaxDriftMs: Int64?

    public init(
        name: String, parallelism: Int = 2, operatorParallelism: [String: Int] = [:], batchSize: Int = 4096,
        channelCapacity: Int = 8, checkpointIntervalMs: Int64 = 60_000, checkpointTimeoutMs: Int64 = 600_000,
        checkpointMinPauseMs: Int64 = 0, checkpointIncremental: Bool = true, checkpointTolerableFailures: Int = 3,
        kafkaFetchMaxBytes: Int = 52_428_800, kafkaQueuedMaxKBytes: Int = 65_536, kafkaFetchWaitMaxMs: Int64 = 100,
        kafkaFetchMinBytes: Int = 1, sinkRecordsPerSecond: Int? = nil, sinkBytesPerSecond: Int64? = nil,
        sinkMaxOpen: Int = 64, sinkLingerMs: Int64 = 20, sinkBatchBytes: Int = 1_000_000, flushLatencyMs: Int64 = 100,
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
        self.kafkaFetchWaitMaxMs = kafkaFetchWaitMaxMs
        self.kafkaFetchMinBytes = kafkaFetchMinBytes
        self.sinkRecordsPerSecond = sinkRecordsPerSecond
        self.sinkBytesPerSecond = sinkBytesPerSecond
        self.sinkMaxOpen = sinkMaxOpen
        self.sinkLingerMs = sinkLingerMs
        self.sinkBatchBytes = sinkBatchBytes
        self.flushLatencyMs = flushLatencyMs
        self.watermarkMaxDriftMs = watermarkMaxDriftMs
    }

    /// Every knob with its value as text, in a fixed order: what a switch logs as changed and `profiles show`
    /// prints. Durations and sizes are spelled as in a profile file (`10s`, `10MiB`), so they can be typed back.
    public var knobs: [(name: String, value: String)] {
        func ms(_ v: Int64) -> String { UnitText.duration(ms: v) }
        func bytes(_ v: Int) -> String { UnitText.size(bytes: Int64(v)) }
        return [
            ("parallelism", String(parallelism)),
            ("operator_parallelism", operatorParallelism.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",")),
            ("batch_size", String(batchSize)), ("channel_capacity", String(channelCapacity)),
            ("checkpoint.interval", ms(checkpointIntervalMs)), ("checkpoint.timeout", ms(checkpointTimeoutMs)),
            ("checkpoint.min_pause", ms(checkpointMinPauseMs)), ("checkpoint.incremental", String(checkpointIncremental)),
            ("checkpoint.tolerable_failures", String(checkpointTolerableFailures)),
            ("kafka.fetch_max_bytes", bytes(kafkaFetchMaxBytes)), ("kafka.queued_max_kbytes", String(kafkaQueuedMaxKBytes)),
            ("kafka.fetch_wait_max", ms(kafkaFetchWaitMaxMs)), ("kafka.fetch_min_bytes", bytes(kafkaFetchMinBytes)),
            ("sink.records_per_second", sinkRecordsPerSecond.map(String.init) ?? "unlimited"),
            ("sink.bytes_per_second", sinkBytesPerSecond.map { UnitText.size(bytes: $0) } ?? "unlimited"),
            ("sink.max_open", String(sinkMaxOpen)), ("sink.linger", ms(sinkLingerMs)),
            ("sink.batch_bytes", bytes(sinkBatchBytes)), ("flush_latency", ms(flushLatencyMs)),
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
            kafkaQueuedMaxKBytes: 262_144, kafkaFetchWaitMaxMs: 500, kafkaFetchMinBytes: 1_048_576, sinkLingerMs: 100,
            sinkBatchBytes: 1_000_000, flushLatencyMs: 1_000, watermarkMaxDriftMs: nil),
        "steady": Profile(
            name: "steady", parallelism: 1, batchSize: 1024, channelCapacity: 4, checkpointIntervalMs: 10_000,
            checkpointTimeoutMs: 60_000, checkpointIncremental: true, kafkaFetchMaxBytes: 10_485_760,
            kafkaQueuedMaxKBytes: 32_768, kafkaFetchWaitMaxMs: 5, kafkaFetchMinBytes: 1, sinkLingerMs: 5,
            sinkBatchBytes: 1_000_000, flushLatencyMs: 50, watermarkMaxDriftMs: 60_000),
        "seasonal": Profile(
            name: "seasonal", parallelism: 2, batchSize: 4096, channelCapacity: 8, checkpointIntervalMs: 30_000,
            checkpointTimeoutMs: 120_000, checkpointIncremental: true, kafkaFetchMaxBytes: 52_428_800,
            kafkaQueuedMaxKBytes: 131_072, kafkaFetchWaitMaxMs: 50, kafkaFetchMinBytes: 65_536,
            sinkRecordsPerSecond: 200_000, sinkLingerMs: 20, sinkBatchBytes: 1_000_000, flushLatencyMs: 200,
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
        if let v = o.kafkaFetchWaitMaxMs { p.kafkaFetchWaitMaxMs = v }
        if let v = o.kafkaFetchMinBytes { p.kafkaFetchMinBytes = v }
        if let v = o.sinkRecordsPerSecond { p.sinkRecordsPerSecond = v }
        if let v = o.sinkBytesPerSecond { p.sinkBytesPerSecond = v }
        if let v = o.sinkMaxOpen { p.sinkMaxOpen = v }
        if let v = o.sinkLingerMs { p.sinkLingerMs = v }
        if let v = o.sinkBatchBytes { p.sinkBatchBytes = v }
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
    public var kafkaFetchWaitMaxMs: Int64?
    public var kafkaFetchMinBytes: Int?
    public var sinkRecordsPerSecond: Int?
    public var sinkBytesPerSecond: Int64?
    public var sinkMaxOpen: Int?
    public var sinkLingerMs: Int64?
    public var sinkBatchBytes: Int?
    public var flushLatencyMs: Int64?
    public var watermarkMaxDriftMs: Int64?

    public init() {}

    /// The names (as in `Profile.knobs`) of the knobs these overrides set.
    public var setKnobs: Set<String> {
        var names = Set<String>()
        func add(_ name: String, _ set: Bool) { if set { names.insert(name) } }
        add("parallelism", parallelism != nil)
        add("operator_parallelism", !operatorParallelism.isEmpty)
        add("batch_size", batchSize != nil)
        add("channel_capacity", channelCapacity != nil)
        add("checkpoint.interval", checkpointIntervalMs != nil)
        add("checkpoint.timeout", checkpointTimeoutMs != nil)
        add("checkpoint.min_pause", checkpointMinPauseMs != nil)
        add("checkpoint.incremental", checkpointIncremental != nil)
        add("checkpoint.tolerable_failures", checkpointTolerableFailures != nil)
        add("kafka.fetch_max_bytes", kafkaFetchMaxBytes != nil)
        add("kafka.queued_max_kbytes", kafkaQueuedMaxKBytes != nil)
        add("kafka.fetch_wait_max", kafkaFetchWaitMaxMs != nil)
        add("kafka.fetch_min_bytes", kafkaFetchMinBytes != nil)
        add("sink.records_per_second", sinkRecordsPerSecond != nil)
        add("sink.bytes_per_second", sinkBytesPerSecond != nil)
        add("sink.max_open", sinkMaxOpen != nil)
        add("sink.linger", sinkLingerMs != nil)
        add("sink.batch_bytes", sinkBatchBytes != nil)
        add("flush_latency", flushLatencyMs != nil)
        add("watermark.max_drift", watermarkMaxDriftMs != nil)
        return names
    }
}

/// Where the value of one knob of a resolved profile came from, lowest layer first: the built-in defaults,
/// a profile file, the pipeline's `profiles.overrides.NAME`, the command line's `--set`.
public enum KnobSource: Sendable, Hashable, CustomStringConvertible {
    case builtIn
    /// `line` is 0 when the position is unknown.
    case profileFile(path: String, line: Int)
    case pipeline(file: String, line: Int)
    case commandLine

    /// `built-in`, `profile file`, `pipeline override`, `--set`.
    public var kind: String {
        switch self {
        case .builtIn: "built-in"
        case .profileFile: "profile file"
        case .pipeline: "pipeline override"
        case .commandLine: "--set"
        }
    }

    /// `file:line` for the two file layers, nil otherwise.
    public var place: String? {
        switch self {
        case .builtIn, .commandLine: nil
        case .profileFile(let path, let line), .pipeline(let path, let line): line > 0 ? "\(path):\(line)" : path
        }
    }

    public var description: String { place.map { "\(kind) \($0)" } ?? kind }
}

/// A resolved profile with where each of its knobs came from (keyed by `Profile.knobs` names).
public struct SourcedProfile: Sendable, Hashable {
    public var profile: Profile
    public var sources: [String: KnobSource]

    public init(profile: Profile, sources: [String: KnobSource]) {
        self.profile = profile
        self.sources = sources
    }

    /// Every knob in `Profile.knobs` order with its value and source (built-in when none is recorded).
    public var rows: [(knob: String, value: String, source: KnobSource)] {
        profile.knobs.map { ($0.name, $0.value, sources[$0.name] ?? .builtIn) }
    }
}
