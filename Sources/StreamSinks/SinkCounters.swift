import Synchronization

/// Running totals of a sink, shared across its workers and readable from any thread (benchmarks, metrics).
public final class SinkTotals: Sendable {
    private let rowCount = Atomic<Int64>(0)
    private let byteCount = Atomic<Int64>(0)
    private let batchCount = Atomic<Int64>(0)

    public init() {}

    public var rows: Int64 { rowCount.load(ordering: .relaxed) }
    public var bytes: Int64 { byteCount.load(ordering: .relaxed) }
    public var batches: Int64 { batchCount.load(ordering: .relaxed) }

    func add(rows: Int, bytes: Int) {
        rowCount.add(Int64(rows), ordering: .relaxed)
        byteCount.add(Int64(bytes), ordering: .relaxed)
        batchCount.add(1, ordering: .relaxed)
    }
}

/// One writer's figures, kept atomic so a metrics reader on another thread sees whole values.
final class WriterCounters: Sendable {
    let rows = Atomic<Int64>(0)
    let bytes = Atomic<Int64>(0)
    let filesCommitted = Atomic<Int64>(0)
    let openBuckets = Atomic<Int64>(0)
    let throttledMs = Atomic<Int64>(0)

    func snapshot(files: Bool) -> [String: Int64] {
        var m: [String: Int64] = [
            "rows_written": rows.load(ordering: .relaxed),
            "bytes_written": bytes.load(ordering: .relaxed),
            "throttled_ms": throttledMs.load(ordering: .relaxed),
        ]
        if files {
            m["files_committed"] = filesCommitted.load(ordering: .relaxed)
            m["open_buckets"] = openBuckets.load(ordering: .relaxed)
        }
        return m
    }
}
