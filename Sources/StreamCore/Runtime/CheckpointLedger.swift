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
    private let records = Mutex<[Int64: CheckpointRecord]>([:])
    /// Positions sources reached when they ended of their own (input finished), by split.
    private let finals = Mutex<(positions: [Int: Int64], eventTimes: [Int: Int64])>(([:], [:]))

    func update(_ id: Int64, _ body: (inout CheckpointRecord) -> Void) {
        records.withLock { r in body(&r[id, default: CheckpointRecord(id: id)]) }
    }

    /// Removes and returns what was recorded for checkpoint `id`.
    public func take(_ id: Int64) -> CheckpointRecord {
        records.withLock { $0.removeValue(forKey: id) } ?? CheckpointRecord(id: id)
    }

    /// Why checkpoint `id` failed in a worker, if it did.
    public func peekFailure(_ id: Int64) -> String? { records.withLock { $0[id]?.failure } }

    /// Drops what was recorded for checkpoint `id` (aborted).
    public func discard(_ id: Int64) { _ = records.withLock { $0.removeValue(forKey: id) } }

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
