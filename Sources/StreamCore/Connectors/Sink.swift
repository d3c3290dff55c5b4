/// What a sink worker knows when it opens its writer.
public struct SinkContext: Sendable {
    public var worker: Int
    public var workers: Int
    /// The schema of rows reaching the sink.
    public var schema: Schema
    public var profile: Profile
    public var clock: any StreamClock
    /// Checkpoints are on: output becomes visible only when the checkpoint it belongs to completes
    /// (`prepare` stages it, the connector's `commit` publishes it).
    public var transactional: Bool = false

    public init(worker: Int, workers: Int, schema: Schema, profile: Profile, clock: any StreamClock = SystemClock()) {
        self.worker = worker
        self.workers = workers
        self.schema = schema
        self.profile = profile
        self.clock = clock
    }
}

/// Output staged for a checkpoint: visible under `final` once the checkpoint completes.
public struct PendingOutput: Sendable, Hashable, Codable {
    public var staged: String
    public var final: String
    public init(staged: String, final: String) {
        self.staged = staged
        self.final = final
    }
}

/// Creates one writer per sink worker.
public protocol SinkConnector: Sendable {
    func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter
    /// The checkpoint that staged `pending` completed: publish it. Idempotent (a restore repeats it).
    func commit(_ pending: [PendingOutput]) throws(StreamError)
    /// Restoring a checkpoint: publish its `pending` output and discard any other staged output (written
    /// after it, or left by a crash).
    func recover(committing pending: [PendingOutput]) throws(StreamError)
    /// Output written under a checkpoint is published only when it completes: exactly once.
    var isTransactional: Bool { get }
}

extension SinkConnector {
    public func commit(_ pending: [PendingOutput]) throws(StreamError) {}
    public func recover(committing pending: [PendingOutput]) throws(StreamError) {}
    public var isTransactional: Bool { false }
}

/// Writes batches somewhere. `flush` makes everything written so far durable or delivered;
/// `close` flushes and releases.
public protocol SinkWriter: AnyObject {
    func write(_ batch: Batch) throws(StreamError)
    func flush() throws(StreamError)
    func close() throws(StreamError)
    /// Figures for the metrics snapshot (e.g. `open_buckets`, `throttled_ms`).
    func metrics() -> [String: Int64]
    /// The live profile changed: apply its sink knobs (throttle, open files) from the next write on.
    func apply(_ profile: Profile)
    /// An aligned barrier of checkpoint `checkpoint`: make everything written so far durable and return
    /// what must be published when the checkpoint completes (nothing for a sink that publishes at once).
    func prepare(checkpoint: Int64) throws(StreamError) -> [PendingOutput]
}

extension SinkWriter {
    public func flush() throws(StreamError) {}
    public func close() throws(StreamError) { try flush() }
    public func metrics() -> [String: Int64] { [:] }
    public func apply(_ profile: Profile) {}
    public func prepare(checkpoint: Int64) throws(StreamError) -> [PendingOutput] {
        try flush()
        return []
    }
}
