import StreamCore

/// Whether a run's late rows exceed `event_time.max_late_share` of the rows its sources read: a run that
/// counted most of its input late (a stray event time far ahead, a too small `max_disorder`) has not
/// produced what it was run for, and ends with its own status and exit code instead of `ok`.
public struct LateShare: Sendable {
    public let lateRows: Int64
    public let rowsRead: Int64
    public let maxShare: Double?

    public init(spec: PipelineSpec, snapshot: JobSnapshot) {
        lateRows = snapshot.workers.reduce(Int64(0)) { $0 + $1.lateRows }
        rowsRead = snapshot.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        maxShare = spec.source.eventTime?.maxLateShare
    }

    public var share: Double { rowsRead > 0 ? Double(lateRows) / Double(rowsRead) : 0 }

    public var exceeded: Bool {
        guard let maxShare, rowsRead > 0 else { return false }
        return share > maxShare
    }
}

extension StreamError {
    /// The reader of stdout went away (`| head`): a normal end, not a failure.
    public var isStdoutClosed: Bool { kind == .sink && message == "stdout closed" }
}
