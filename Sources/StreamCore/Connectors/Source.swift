/// What a source worker knows when it opens its reader.
public struct SourceContext: Sendable {
    /// This worker's index and the number of source workers.
    public var worker: Int
    public var workers: Int
    /// The schema rows are decoded into.
    public var schema: Schema
    public var spec: SourceSpec
    public var profile: Profile
    public var clock: any StreamClock
    /// Applies the `on_bad_record` policy; shared by the job's source workers.
    public var badRecords: BadRecordHandler
    /// Stop after this many rows in total across workers (`--max-records`); nil is unbounded.
    public var bounded: SourceBound
    /// Where to resume, by split (the next position to read), from a restored checkpoint; empty: start as
    /// the spec says.
    public var restore: [Int: Int64] = [:]

    public init(
        worker: Int, workers: Int, schema: Schema, spec: SourceSpec, profile: Profile,
        clock: any StreamClock = SystemClock(), badRecords: BadRecordHandler, bounded: SourceBound = .unbounded
    ) {
        self.worker = worker
        self.workers = workers
        self.schema = schema
        self.spec = spec
        self.profile = profile
        self.clock = clock
        self.badRecords = badRecords
        self.bounded = bounded
    }
}

/// How far an unbounded source (Kafka) reads.
public enum SourceBound: Sendable, Hashable {
    case unbounded
    /// Stop at the end offsets sampled at start (`--until caught-up`).
    case caughtUp
}

/// Creates one reader per source worker. Implemented by generator, file and Kafka sources.
public protocol SourceConnector: Sendable {
    /// Splits (partitions, files, generator shards) the source has, when known before opening.
    var splitCount: Int { get }
    /// Readers report `splitPositions()` and resume from `SourceContext.restore`: checkpoints can hold
    /// this source's progress.
    var resumable: Bool { get }
    /// Opens the reader of worker `context.worker` of `context.workers`.
    func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader
}

/// Reads rows of the splits one worker owns, decoding straight into a columnar batch.
public protocol SourceReader: AnyObject {
    /// Appends up to `maxRows` rows to `batch` and reports per-split progress. Waits at most `timeoutMs`
    /// when nothing is available. Returns `.finished` once every split of this reader has ended.
    func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll
    /// Back pressure: pause fetching while true (Kafka pauses its partitions); resume when false.
    func setPaused(_ paused: Bool)
    /// Lag figures per split (records behind the end), for metrics; empty when unknown.
    func lag() -> [Int: Int64]
    /// Other figures for the metrics snapshot (e.g. `data_loss_offsets`).
    func metrics() -> [String: Int64]
    /// The next position to read of every split this reader holds, for a checkpoint: what the reader was
    /// opened with in `SourceContext.restore` resumes there. Empty when the source cannot resume.
    func splitPositions() -> [Int: Int64]
    /// Positions of splits that no reader of the source holds right now and that are read from there next:
    /// handed over by a reader that closed or lost them (a reopened Kafka consumer waiting to rejoin its group)
    /// and not yet taken up. A barrier records them for the splits that no worker reports as held.
    func handedOverPositions() -> [Int: Int64]
    /// A checkpoint holding `positions` completed: record them outside (Kafka: the consumer group's
    /// committed offsets, for lag monitoring). Nothing depends on it for correctness.
    func commit(_ positions: [Int: Int64])
    func close()
    /// True when `profile` changes a setting this reader fixed when it opened (librdkafka's fetch settings):
    /// the source worker then reopens it at the next barrier it sends, at the positions it reached.
    func needsReopen(for profile: Profile) -> Bool
    /// Watermark alignment: stop fetching exactly `splits` (the others resume, unless back pressure paused all);
    /// false when this reader cannot pause single splits (alignment then has no effect on it).
    func pauseSplits(_ splits: Set<Int>) -> Bool
}

extension SourceConnector {
    public var resumable: Bool { false }
}

extension SourceReader {
    public func setPaused(_ paused: Bool) {}
    public func lag() -> [Int: Int64] { [:] }
    public func metrics() -> [String: Int64] { [:] }
    public func splitPositions() -> [Int: Int64] { [:] }
    public func handedOverPositions() -> [Int: Int64] { [:] }
    public func commit(_ positions: [Int: Int64]) {}
    public func close() {}
    public func needsReopen(for profile: Profile) -> Bool { false }
    public func pauseSplits(_ splits: Set<Int>) -> Bool { false }
}

/// Progress of one split in one poll.
public struct SplitProgress: Sendable, Hashable {
    /// The split's id, unique within the source (a Kafka partition is `topicIndex << 20 | partition`).
    public var split: Int
    /// The largest event time among rows appended for this split in this poll, or nil if none.
    public var maxEventTime: Int64?
    /// Nothing is left to read right now (position = high watermark).
    public var atEnd: Bool
    /// The split is done for good (a file at EOF, a bounded run at its end offset).
    public var finished: Bool

    public init(split: Int, maxEventTime: Int64? = nil, atEnd: Bool = false, finished: Bool = false) {
        self.split = split
        self.maxEventTime = maxEventTime
        self.atEnd = atEnd
        self.finished = finished
    }
}

/// What one poll produced.
public struct SourcePoll: Sendable {
    public var splits: [SplitProgress]
    /// Every split of the reader has finished; the worker drains and ends.
    public var finished: Bool

    public init(splits: [SplitProgress] = [], finished: Bool = false) {
        self.splits = splits
        self.finished = finished
    }
}
