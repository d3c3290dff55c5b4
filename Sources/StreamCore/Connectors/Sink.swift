/// What a sink worker knows when it opens its writer.
public struct SinkContext: Sendable {
    public var worker: Int
    public var workers: Int
    /// The schema of rows reaching the sink.
    public var schema: Schema
    public var profile: Profile
    public var clock: any StreamClock

    public init(worker: Int, workers: Int, schema: Schema, profile: Profile, clock: any StreamClock = SystemClock()) {
        self.worker = worker
        self.workers = workers
        self.schema = schema
        self.profile = profile
        self.clock = clock
    }
}

/// Creates one writer per sink worker.
public protocol SinkConnector: Sendable {
    func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter
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
}

extension SinkWriter {
    public func flush() throws(StreamError) {}
    public func close() throws(StreamError) { try flush() }
    public func metrics() -> [String: Int64] { [:] }
    public func apply(_ profile: Profile) {}
}
