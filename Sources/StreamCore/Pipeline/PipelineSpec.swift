/// A 1-based position in a pipeline file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public static let unknown = SourceLocation(line: 0, column: 0)
    public var description: String { "\(line):\(column)" }
}

/// An expression as written in the pipeline file, with where it was written.
public struct ExpressionText: Sendable, Hashable {
    public var text: String
    public var location: SourceLocation
    public init(_ text: String, at location: SourceLocation = .unknown) {
        self.text = text
        self.location = location
    }
}

/// A validated pipeline definition: what `streamctl run` executes.
public struct PipelineSpec: Sendable {
    public var name: String
    /// The input schema, as declared.
    public var schema: Schema
    public var source: SourceSpec
    public var operators: [OperatorSpec]
    public var sink: SinkSpec
    public var state: StateSpec
    public var checkpoints: CheckpointSpec
    public var profiles: ProfilesSpec
    /// The file the spec was read from, for messages.
    public var file: String

    public init(
        name: String, schema: Schema, source: SourceSpec, operators: [OperatorSpec], sink: SinkSpec,
        state: StateSpec = StateSpec(), checkpoints: CheckpointSpec = CheckpointSpec(),
        profiles: ProfilesSpec = ProfilesSpec(), file: String = "<memory>"
    ) {
        self.name = name
        self.schema = schema
        self.source = source
        self.operators = operators
        self.sink = sink
        self.state = state
        self.checkpoints = checkpoints
        self.profiles = profiles
        self.file = file
    }
}

/// What to do with a record that does not decode into the schema.
public enum BadRecordPolicy: Sendable, Hashable {
    /// Stop the job with the record's position and the decode error (default).
    case fail
    /// Count it and go on.
    case skip
    /// Count it and append its raw bytes, origin and error to a JSON-lines file.
    case deadLetter(path: String)
}

/// Input encoding of source records.
public enum RecordFormat: String, Sendable, Hashable, CaseIterable {
    case json
    case csv
}

/// Event-time settings of a source.
public struct EventTimeSpec: Sendable, Hashable {
    /// The timestamp field rows are windowed by, or nil to use the Kafka message timestamp.
    public var field: String?
    /// How far behind the newest event a row may arrive and still be on time (watermark lag).
    public var maxDisorderMs: Int64
    /// A split with nothing to read for this long stops holding the watermark back.
    public var idleTimeoutMs: Int64
    /// A row whose event time is more than this far ahead of its split's watermark (in a live run, of the
    /// later of the watermark and the wall clock) is a bad record; nil switches the guard off.
    public var maxAheadMs: Int64?
    /// A run whose late rows exceed this share of the rows read ends `late`; nil switches the check off.
    public var maxLateShare: Double?

    public static let defaultMaxAheadMs: Int64 = 7 * 86_400_000
    public static let defaultMaxLateShare = 0.1

    public init(
        field: String?, maxDisorderMs: Int64 = 5_000, idleTimeoutMs: Int64 = 10_000,
        maxAheadMs: Int64? = EventTimeSpec.defaultMaxAheadMs, maxLateShare: Double? = EventTimeSpec.defaultMaxLateShare
    ) {
        self.field = field
        self.maxDisorderMs = maxDisorderMs
        self.idleTimeoutMs = idleTimeoutMs
        self.maxAheadMs = maxAheadMs
        self.maxLateShare = maxLateShare
    }
}

/// Where the first rows of a Kafka source come from.
public enum StartPosition: Sendable, Hashable {
    case earliest
    case latest
    /// Epoch milliseconds.
    case timestamp(Int64)
    /// The consumer group's committed offsets, `earliest` where none are committed.
    case committed
}

/// How a Kafka source's workers get their partitions.
public enum PartitionAssignment: String, Sendable, Hashable, CaseIterable {
    /// Members of the consumer group: the group's assignor spreads partitions, and other processes in
    /// the same group share the work (rebalances hand partitions over).
    case group
    /// This process reads every partition: worker `w` of `n` takes partitions `i % n == w`, with no
    /// group join (no rebalance wait at start; the group id still names committed offsets).
    case `static`
}

/// Process `index` of `count` streamctl processes sharing a topic (`--instance I/N`): it reads the
/// partitions p with p % count == index.
public struct SourceInstance: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N` with 0 <= I < N; nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]),
            let n = Int(parts[1]), n >= 1, i >= 0, i < n
        else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether partition `p` of a topic belongs to this instance.
    public func owns(partition p: Int32) -> Bool { Int(p) % count == index }
}

public struct KafkaSourceSpec: Sendable, Hashable {
    /// Bootstrap servers, or `embedded` for the in-process broker.
    public var brokers: String
    public var topics: [String]
    public var group: String
    public var startFrom: StartPosition
    /// Passed to librdkafka untouched (security settings included).
    public var properties: [String: String]
    public var assignment: PartitionAssignment
    /// This process's share of the partitions when several processes read the topic; nil reads all.
    public var instance: SourceInstance?
    /// The fields the producer keyed the topic's messages by, so equal values share a partition.
    public var partitionedBy: [String]?
    /// The user accepts that keyed results are split across instances (the key does not follow the partitioning).
    public var allowSplitKeys: Bool

    public init(
        brokers: String, topics: [String], group: String, startFrom: StartPosition = .earliest,
        properties: [String: String] = [:], assignment: PartitionAssignment = .group, instance: SourceInstance? = nil,
        partitionedBy: [String]? = nil, allowSplitKeys: Bool = false
    ) {
        self.brokers = brokers
        self.topics = topics
        self.group = group
        self.startFrom = startFrom
        self.properties = properties
        self.assignment = assignment
        self.instance = instance
        self.partitionedBy = partitionedBy
        self.allowSplitKeys = allowSplitKeys
    }
}

public struct FileSourceSpec: Sendable, Hashable {
    /// Paths or glob patterns, read in sorted order.
    public var paths: [String]
    /// CSV: whether the first line of each file names the columns.
    public var header: Bool
    public init(paths: [String], header: Bool = true) {
        self.paths = paths
        self.header = header
    }
}

/// The deterministic orders stream: `order_id, shop, customer, amount, ts`.
public struct GeneratorSpec: Sendable, Hashable {
    public var seed: UInt64
    /// Rows to produce, or nil for unbounded.
    public var rows: Int?
    /// Rows per second, or nil for as fast as possible.
    public var rate: Int?
    /// Distinct shops (the usual key).
    public var keys: Int
    /// Zipf exponent of the shop distribution; 0 is uniform.
    public var skew: Double
    /// Rows arrive up to this far out of event-time order.
    public var disorderMs: Int64
    /// Event time of the first row, epoch milliseconds.
    public var startTime: Int64
    /// Event-time distance between consecutive rows.
    public var stepMs: Int64
    /// Independent splits, the unit of source parallelism.
    public var splits: Int

    public init(
        seed: UInt64 = 42, rows: Int? = 100_000, rate: Int? = nil, keys: Int = 100, skew: Double = 0,
        disorderMs: Int64 = 0, startTime: Int64 = 1_700_000_000_000, stepMs: Int64 = 10, splits: Int = 4
    ) {
        self.seed = seed
        self.rows = rows
        self.rate = rate
        self.keys = keys
        self.skew = skew
        self.disorderMs = disorderMs
        self.startTime = startTime
        self.stepMs = stepMs
        self.splits = splits
    }
}

public enum SourceKind: Sendable, Hashable {
    case kafka(KafkaSourceSpec)
    case file(FileSourceSpec)
    case generator(GeneratorSpec)
}

public struct SourceSpec: Sendable, Hashable {
    public var kind: SourceKind
    public var format: RecordFormat
    public var eventTime: EventTimeSpec?
    public var onBadRecord: BadRecordPolicy
    /// Worker threads of the source; nil takes the profile's parallelism.
    public var parallelism: Int?

    public init(
        kind: SourceKind, format: RecordFormat = .json, eventTime: EventTimeSpec? = nil,
        onBadRecord: BadRecordPolicy = .fail, parallelism: Int? = nil
    ) {
        self.kind = kind
        self.format = format
        self.eventTime = eventTime
        self.onBadRecord = onBadRecord
        self.parallelism = parallelism
    }
}

/// Aggregate functions of windows and running aggregates.
public enum AggregateFunction: String, Sendable, Hashable, CaseIterable {
    case count, sum, min, max, avg, first, last
}

/// `name: fn(field)`; `field` is nil for `count()`.
public struct AggregateSpec: Sendable, Hashable {
    public var name: String
    public var function: AggregateFunction
    public var field: String?
    public var location: SourceLocation
    public init(name: String, function: AggregateFunction, field: String?, at location: SourceLocation = .unknown) {
        self.name = name
        self.function = function
        self.field = field
        self.location = location
    }
}

public enum WindowKind: Sendable, Hashable {
    case tumbling(sizeMs: Int64)
    case sliding(sizeMs: Int64, slideMs: Int64)
    case session(gapMs: Int64)
}

public struct WindowSpec: Sendable, Hashable {
    public var kind: WindowKind
    public var aggregates: [AggregateSpec]
    /// How long after the watermark passes a window's end rows still update it (re-firing it).
    public var allowedLatenessMs: Int64
    /// Late rows go to this JSON-lines file instead of only being counted.
    public var lateOutput: String?

    public init(kind: WindowKind, aggregates: [AggregateSpec], allowedLatenessMs: Int64 = 0, lateOutput: String? = nil)
    {
        self.kind = kind
        self.aggregates = aggregates
        self.allowedLatenessMs = allowedLatenessMs
        self.lateOutput = lateOutput
    }
}

public enum OperatorKind: Sendable, Hashable {
    /// Keeps rows where the boolean expression is true.
    case filter(ExpressionText)
    /// Computes fields; `keep: true` keeps the input fields and adds or replaces the computed ones,
    /// `keep: false` (a `select`) outputs only the listed fields.
    case map(fields: [(name: String, expression: ExpressionText)], keep: Bool)
    /// Partitions rows by key group of these fields.
    case keyBy([String])
    /// Event-time windows over the current key.
    case window(WindowSpec)
    /// Running aggregate per key, emitted on every update; state expires after `ttlMs` without updates.
    case runningAggregate(aggregates: [AggregateSpec], ttlMs: Int64?)
    /// Drops rows whose key was already seen within `ttlMs`.
    case dedupe(key: [String], ttlMs: Int64)

    public static let allNames = ["filter", "map", "select", "key_by", "window", "aggregate", "dedupe"]

    /// The operator keeps keyed state.
    public var isStateful: Bool {
        switch self {
        case .window, .runningAggregate, .dedupe: true
        case .filter, .map, .keyBy: false
        }
    }

    public static func == (lhs: OperatorKind, rhs: OperatorKind) -> Bool {
        switch (lhs, rhs) {
        case (.filter(let a), .filter(let b)): a == b
        case (.map(let a, let ka), .map(let b, let kb)):
            ka == kb && a.count == b.count
                && zip(a, b).allSatisfy { $0.name == $1.name && $0.expression == $1.expression }
        case (.keyBy(let a), .keyBy(let b)): a == b
        case (.window(let a), .window(let b)): a == b
        case (.runningAggregate(let a, let ta), .runningAggregate(let b, let tb)): a == b && ta == tb
        case (.dedupe(let a, let ta), .dedupe(let b, let tb)): a == b && ta == tb
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(String(describing: self)) }
}

public struct OperatorSpec: Sendable, Hashable {
    /// Unique within the pipeline (`filter-1`, or the `id:` the file gives); names the state column family.
    public var id: String
    public var kind: OperatorKind
    /// Worker threads; nil takes the profile's parallelism.
    public var parallelism: Int?
    public var location: SourceLocation

    public init(id: String, kind: OperatorKind, parallelism: Int? = nil, at location: SourceLocation = .unknown) {
        self.id = id
        self.kind = kind
        self.parallelism = parallelism
        self.location = location
    }
}

public enum OutputFormat: String, Sendable, Hashable, CaseIterable {
    case json
    case csv
}

public struct FileSinkSpec: Sendable, Hashable {
    /// The output directory.
    public var path: String
    /// Hive-style bucket template over row fields, e.g. `date={window_start:%Y-%m-%d}/hour={window_start:%H}`.
    public var bucket: String?
    public var format: OutputFormat
    /// Roll part files at this size.
    public var rollSizeBytes: Int64
    /// Route rows by bucket before the sink so each worker holds few open buckets.
    public var keyByBucket: Bool

    public init(
        path: String, bucket: String? = nil, format: OutputFormat = .json, rollSizeBytes: Int64 = 128 << 20,
        keyByBucket: Bool = true
    ) {
        self.path = path
        self.bucket = bucket
        self.format = format
        self.rollSizeBytes = rollSizeBytes
        self.keyByBucket = keyByBucket
    }
}

public struct KafkaSinkSpec: Sendable, Hashable {
    public var brokers: String
    public var topic: String
    /// The field whose value is the message key; nil for no key.
    public var keyField: String?
    public var properties: [String: String]

    public init(brokers: String, topic: String, keyField: String? = nil, properties: [String: String] = [:]) {
        self.brokers = brokers
        self.topic = topic
        self.keyField = keyField
        self.properties = properties
    }
}

public enum SinkKind: Sendable, Hashable {
    case stdout(OutputFormat)
    case file(FileSinkSpec)
    case kafka(KafkaSinkSpec)
    /// Discards rows (benchmarks).
    case null
}

public struct SinkSpec: Sendable, Hashable {
    public var kind: SinkKind
    public var parallelism: Int?
    public init(kind: SinkKind, parallelism: Int? = nil) {
        self.kind = kind
        self.parallelism = parallelism
    }
}

public enum StateBackendKind: String, Sendable, Hashable {
    case memory
    case rocksdb
}

public struct StateSpec: Sendable, Hashable {
    public var backend: StateBackendKind
    public var dir: String
    /// Bounds block cache, memtables and index/filter blocks together.
    public var memoryBytes: Int64
    /// Block cache size; nil derives it from the budget, 0 disables the block cache (`block_cache: off`).
    public var blockCacheBytes: Int64?
    /// The per-worker write-back buffers of window accumulators, all workers together; taken out of
    /// `memoryBytes`. nil derives it (a sixteenth of the budget), 0 turns them off (`worker_cache: off`).
    public var workerCacheBytes: Int64?

    public init(
        backend: StateBackendKind = .memory, dir: String = "./state", memoryBytes: Int64 = 512 << 20,
        blockCacheBytes: Int64? = nil, workerCacheBytes: Int64? = nil
    ) {
        self.backend = backend
        self.dir = dir
        self.memoryBytes = memoryBytes
        self.blockCacheBytes = blockCacheBytes
        self.workerCacheBytes = workerCacheBytes
    }

    /// What the worker buffers get, with either backend (the buffer saves the table's writes and lookups).
    public var effectiveWorkerCacheBytes: Int64 {
        min(workerCacheBytes ?? memoryBytes / 16, memoryBytes / 2)
    }
}

/// `checkpoints:`. Checkpoints are taken only when the pipeline file has this section (`enabled`).
public struct CheckpointSpec: Sendable, Hashable {
    public var dir: String
    public var retain: Int
    /// The pipeline file asks for checkpoints.
    public var enabled: Bool
    public init(dir: String = "./checkpoints", retain: Int = 3, enabled: Bool = false) {
        self.dir = dir
        self.retain = retain
        self.enabled = enabled
    }
}

/// Profile selection of a pipeline: which profile starts, and per-profile overrides of its knobs.
public struct ProfilesSpec: Sendable, Hashable {
    /// The profile the job starts with unless `--profile` says otherwise.
    public var initial: String
    /// Extra profile files, beside the built-in `profiles/` directory.
    public var files: [String]
    /// `profile name → knob overrides`.
    public var overrides: [String: ProfileOverrides]
    /// `profile name → knob → line` of each override in the pipeline file (for `profiles show`).
    public var overrideLines: [String: [String: Int]] = [:]
    public var auto: AutoSwitchSpec?

    public init(
        initial: String = "steady", files: [String] = [], overrides: [String: ProfileOverrides] = [:],
        auto: AutoSwitchSpec? = nil
    ) {
        self.initial = initial
        self.files = files
        self.overrides = overrides
        self.auto = auto
    }
}

/// The automatic switching policy over measured lag.
public struct AutoSwitchSpec: Sendable, Hashable {
    public var enabled: Bool
    /// Lag (records) above which the job switches to backfill.
    public var backfillAboveLag: Int64
    /// Lag (records) below which it switches back to steady.
    public var steadyBelowLag: Int64
    /// Input rate (rows/s) above which it switches to seasonal.
    public var seasonalAboveRate: Int64?
    /// Minimum time in a profile before another automatic switch.
    public var minDwellMs: Int64

    public init(
        enabled: Bool = false, backfillAboveLag: Int64 = 1_000_000, steadyBelowLag: Int64 = 10_000,
        seasonalAboveRate: Int64? = nil, minDwellMs: Int64 = 60_000
    ) {
        self.enabled = enabled
        self.backfillAboveLag = backfillAboveLag
        self.steadyBelowLag = steadyBelowLag
        self.seasonalAboveRate = seasonalAboveRate
        self.minDwellMs = minDwellMs
    }
}
