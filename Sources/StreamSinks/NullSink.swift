import StreamCore

/// Discards rows, counting them into `totals` (benchmarks measure the pipeline without output cost).
/// The profile's sink throttle still applies, so throttling can be measured on its own.
public struct NullSinkConnector: SinkConnector {
    public let totals: SinkTotals

    public init(totals: SinkTotals = SinkTotals()) {
        self.totals = totals
    }

    public func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter {
        NullSinkWriter(
            totals: totals,
            throttle: TokenBucket(profile: context.profile, workers: context.workers, clock: context.clock),
            workers: context.workers)
    }
}

final class NullSinkWriter: SinkWriter {
    private let totals: SinkTotals
    private var throttle: TokenBucket
    private let counters = WriterCounters()

    private let workers: Int

    init(totals: SinkTotals, throttle: TokenBucket, workers: Int) {
        self.totals = totals
        self.throttle = throttle
        self.workers = workers
    }

    /// A live profile change: the throttle applies from the next write.
    func apply(_ profile: Profile) { throttle.retune(profile: profile, workers: workers) }

    func write(_ batch: Batch) throws(StreamError) {
        guard !batch.isEmpty else { return }
        // Only records can be throttled here: nothing is encoded, so there are no bytes.
        throttle.acquire(records: batch.count, bytes: 0)
        counters.throttledMs.store(throttle.throttledMs, ordering: .relaxed)
        counters.rows.add(Int64(batch.count), ordering: .relaxed)
        totals.add(rows: batch.count, bytes: 0)
    }

    func metrics() -> [String: Int64] { counters.snapshot(files: false) }
}
