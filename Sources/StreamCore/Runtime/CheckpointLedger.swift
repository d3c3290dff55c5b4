#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// How a job takes part in checkpoints: where state snapshots are staged, and what a restored checkpoint
/// hands the workers.
public struct JobCheckpointing: Sendable {
    /// A local directory under which each checkpoint's state snapshot is staged (`<id>/`).
    public var stagingDirectory: String
    public var restored: RestoredProgress?

    public init(stagingDirectory: String, restored: RestoredProgress? = nil) {
        self.stagingDirectory = stagingDirectory
        self.restored = restored
    }
}

/// Progress a checkpoint recorded, handed to the workers of a restored job.
public struct RestoredProgress: Sendable, Hashable, Codable {
    public var checkpoint: Int64
    /// Next position to read, by split.
    public var positions: [Int: Int64]
    /// Newest event time seen, by split.
    public var eventTimes: [Int: Int64]
    /// Watermark of each operator stage at the barrier, by stage id.
    public var watermarks: [String: Int64]

    public init(checkpoint: Int64, positions: [Int: Int64], eventTimes: [Int: Int64], watermarks: [String: Int64]) {
        self.checkpoint = checkpoint
        self.positions = positions
        self.eventTimes = eventTimes
        self.watermarks = watermarks
    }
}

/// What every task reported for one checkpoint: source positions, watermarks, staged output, the state
/// snapshot. The coordinator reads it once the barrier completed.
public struct CheckpointRecord: Sendable {
    public var id: Int64
    public var positions: [Int: Int64] = [:]
    public var eventTimes: [Int: Int64] = [:]
    public var watermarks: [String: Int64] = [:]
    public var pending: [PendingOutput] = []
    /// Files of the state snapshot, relative to `stateDirectory`; nil when the job has no keyed state.
    public var stateFiles: [String]?
    public var stateDirectory: String?
    /// How long stateful workers were held for the snapshot (stop-the-world), nanoseconds.
    public var pauseNs: UInt64 = 0
    public var failure: String?
}

/// Collects each checkpoint's records from the worker threads.
public final class CheckpointLedger: Sendable {
    private struct Books {
        var records: [Int64: CheckpointRecord] = [:]
        /// Checkpoints the coordinator has taken (completed or failed): what a task records for one later
        /// belongs to no checkpoint any more.
        var closed: Set<Int64> = []
        /// Recorded for a closed checkpoint after it was taken (a sink that aligned a barrier another task
        /// had already declined): the output goes out with the next checkpoint that completes.
        var late: (pending: [PendingOutput], stateDirectories: [String]) = ([], [])
        /// Output the sinks staged when their input ended, after their last barrier.
        var ended: [PendingOutput] = []
    }
    private let books = Mutex(Books())
    /// Positions sources reached when they ended of their own (input finished), by split.
    private let finals = Mutex<(positions: [Int: Int64], eventTimes: [Int: Int64])>(([:], [:]))

    func update(_ id: Int64, _ body: (inout CheckpointRecord) -> Void) {
        books.withLock { b in
            guard b.closed.contains(id) else {
                body(&b.records[id, default: CheckpointRecord(id: id)])
                return
            }
            var record = CheckpointRecord(id: id)
            body(&record)
            b.late.pending += record.pending
            if let dir = record.stateDirectory { b.late.stateDirectories.append(dir) }
        }
    }

    /// Removes and returns what was recorded for checkpoint `id`; what tasks record for it later is kept
    /// apart (`takeLate()`).
    public func take(_ id: Int64) -> CheckpointRecord {
        books.withLock { b in
            b.closed.insert(id)
            return b.records.removeValue(forKey: id) ?? CheckpointRecord(id: id)
        }
    }

    /// What tasks recorded for checkpoints after those were taken: staged output (to publish with the
    /// next checkpoint that completes) and state snapshots (to delete). Removed from the ledger.
    public func takeLate() -> (pending: [PendingOutput], stateDirectories: [String]) {
        books.withLock { b in
            defer { b.late = ([], []) }
            return b.late
        }
    }

    /// A sink's input ended: the parts it staged since its last barrier, for the job's last manifest.
    func recordEnded(_ pending: [PendingOutput]) { books.withLock { $0.ended += pending } }

    /// Output the sinks staged when their input ended; removed from the ledger.
    public func takeEnded() -> [PendingOutput] {
        books.withLock { b in
            defer { b.ended.removeAll() }
            return b.ended
        }
    }

    /// Why checkpoint `id` failed in a worker, if it did.
    public func peekFailure(_ id: Int64) -> String? { books.withLock { $0.records[id]?.failure } }

    func recordFinal(positions: [Int: Int64], eventTimes: [Int: Int64]) {
        finals.withLock { f in
            f.positions.merge(positions) { $1 }
            f.eventTimes.merge(eventTimes) { $1 }
        }
    }

    /// Where sources stood when they ended of their own.
    public var finalProgress: (positions: [Int: Int64], eventTimes: [Int: Int64]) { finals.withLock { $0 } }
}

/// Holds every stateful worker after its barrier until the one state snapshot of that checkpoint is
/// taken: RocksDB is one database for the whole job, so a hard-link checkpoint captures every operator
/// at one instant only while none of them writes.
final class StateSnapshotGate: Sendable {
    private struct Pending {
        var expected: Int
        var arrived = 0
        var firstArrivalNs: UInt64 = 0
        var done = false
        var failure: StreamError?
    }
    private let pending = Mutex<[Int64: Pending]>([:])

    /// Barrier `id` was injected while `workers` stateful workers were live.
    func expect(_ id: Int64, workers: Int) { pending.withLock { $0[id] = Pending(expected: workers) } }

    /// A stateful worker flushed its state for barrier `id`. The last to arrive takes the snapshot with
    /// `take`; every one waits for it. Returns false when the job failed meanwhile.
    func arrive(
        _ id: Int64, clock: any StreamClock, failed: () -> Bool,
        take: () throws(StreamError) -> Void, record: (UInt64) -> Void
    ) throws(StreamError) -> Bool {
        let last = pending.withLock { p -> Bool? in
            guard var entry = p[id] else { return nil }
            if entry.arrived == 0 { entry.firstArrivalNs = clock.monotonicNs() }
            entry.arrived += 1
            p[id] = entry
            return entry.arrived >= entry.expected
        }
        guard let last else { return true }  // not a checkpoint barrier (no snapshot expected)
        if last {
            var failure: StreamError?
            do { try take() } catch { failure = error }
            let started = pending.withLock { $0[id]?.firstArrivalNs ?? 0 }
            record(clock.monotonicNs() &- started)
            pending.withLock { p in
                p[id]?.done = true
                p[id]?.failure = failure
            }
            // A failed snapshot fails the checkpoint (the caller declines it), not the job.
            if let failure { throw failure }
            pending.withLock { _ = $0.removeValue(forKey: id) }
            return true
        }
        while true {
            let state = pending.withLock { p -> Bool? in p[id].map(\.done) }
            guard let done = state else { return true }
            if done { return true }
            if failed() { return false }
            usleep(100)
        }
    }
}
