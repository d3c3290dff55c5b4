import Foundation
import StreamCore

/// Checkpoint figures for the summary and metrics.
public struct CheckpointStats: Sendable, Hashable {
    public var completed = 0
    /// Every checkpoint that did not complete, `aborted` ones included.
    public var failed = 0
    /// Of `failed`: cancelled past the timeout, or declined by a worker (a newer barrier overtook it).
    public var aborted = 0
    public var lastId: Int64?
    public var lastDurationMs: Int64?
    public var lastPauseMs: Int64?
    public var lastBytesCopied: Int64?
    /// Bytes of every state file the last completed checkpoint references (shared ones included).
    public var lastSizeBytes: Int64?
    /// The checkpoint this run resumed from.
    public var restoredFrom: Int64?
}

/// Triggers checkpoints on the profile's interval (with its minimum pause), collects them when every
/// task acknowledged, writes them (state files, manifest), then publishes the sinks' staged output,
/// tells the sources (consumer-group commit) and retires old checkpoints. A checkpoint past its timeout
/// is cancelled and counted; more consecutive failures than the profile tolerates fail the job.
///
/// Driven by the runner's supervision loop (`tick`), on the runner's thread: the workers never wait for it
/// except the stateful ones during the state snapshot itself.
final class CheckpointCoordinator {
    struct Flight {
        var id: Int64
        var startedNs: UInt64
        var final: Bool
    }

    let store: CheckpointStore
    let job: Job
    let sink: any SinkConnector
    let spec: PipelineSpec
    let clock: any StreamClock
    let backend: String
    private(set) var stats = CheckpointStats()
    private var flights: [Flight] = []
    private var lastEndNs: UInt64
    private var lastTriggerNs: UInt64
    private var consecutiveFailures = 0
    /// Output staged for checkpoints that failed: published with the next one that completes.
    private var carried: [PendingOutput] = []
    private var crcCache: [String: UInt32] = [:]
    private(set) var finalRequested = false

    init(store: CheckpointStore, job: Job, sink: any SinkConnector, spec: PipelineSpec, clock: any StreamClock,
         backend: String, restoredFrom: Int64?) {
        self.store = store
        self.job = job
        self.sink = sink
        self.spec = spec
        self.clock = clock
        self.backend = backend
        stats.restoredFrom = restoredFrom
        lastEndNs = clock.monotonicNs()
        lastTriggerNs = lastEndNs
        known = job.lastInjectedBarrier
    }

    private var profile: Profile { job.live.current }

    /// Barriers someone else injected (a rescale, a profile switch) are aligned cuts like any other: every
    /// sink staged output at them, so each becomes a checkpoint here, or that output would never be published.
    private var known: Int64 = 0

    private func adoptForeignBarriers(now: UInt64) {
        let last = job.lastInjectedBarrier
        guard last > known else { return }
        let mine = Set(flights.map(\.id))
        for id in (known + 1)...last where !mine.contains(id) && job.barriers.status(id) != .unknown {
            flights.append(Flight(id: id, startedNs: now, final: false))
        }
        flights.sort { $0.id < $1.id }
        known = last
    }

    /// One look: trigger a checkpoint when due, finish completed ones, fail timed-out ones.
    func tick() throws(StreamError) {
        let now = clock.monotonicNs()
        adoptForeignBarriers(now: now)
        try settle(now: now)
        guard !finalRequested, flights.isEmpty, !job.failed, !job.isStopRequested else { return }
        let p = profile
        let sinceEnd = Int64((now &- lastEndNs) / 1_000_000)
        let sinceTrigger = Int64((now &- lastTriggerNs) / 1_000_000)
        if sinceTrigger >= p.checkpointIntervalMs && sinceEnd >= p.checkpointMinPauseMs {
            trigger(now: now)
        }
    }

    /// Triggers a checkpoint at once (a savepoint request, a profile switch).
    @discardableResult
    func trigger(now: UInt64) -> Int64 {
        let id = job.triggerBarrier(profile: profile.name)
        flights.append(Flight(id: id, startedNs: now, final: false))
        // A barrier someone else injected since the last look (a rescale between that look and this
        // trigger) is below `id`: adopt it rather than step `known` over it, or its output is never published.
        adoptForeignBarriers(now: now)
        lastTriggerNs = now
        return id
    }

    /// Ends the job at a final barrier whose checkpoint keeps what is still open.
    func stopWithFinalCheckpoint() {
        guard !finalRequested else { return }
        finalRequested = true
        let id = job.stopAtFinalBarrier()
        flights.append(Flight(id: id, startedNs: clock.monotonicNs(), final: true))
        adoptForeignBarriers(now: clock.monotonicNs())
    }

    /// After the job ended: finishes what completed; a job whose input ended of its own gets a last
    /// manifest saying so, holding the sources' end positions.
    func jobEnded(failed: Bool) throws(StreamError) {
        adoptForeignBarriers(now: clock.monotonicNs())
        try settle(now: clock.monotonicNs(), ended: true, cleanEnd: !failed && !finalRequested)
        // What the sinks staged when their input ended is published only once a manifest covers it; after a
        // failure the restore removes it (the restored checkpoint's state fires those windows again).
        let ended = job.ledger.takeEnded()
        guard !failed else { return }
        collectLate()
        if finalRequested {
            // Nothing is written after the final barrier; should anything be, it goes out as before.
            try sink.commit(carried + ended)
            carried.removeAll()
            return
        }
        carried += ended
        let progress = job.ledger.finalProgress
        let id = job.triggerBarrier()  // an id above every barrier; the job is gone, nothing is sent
        let manifest = CheckpointManifest(
            version: CheckpointManifest.currentVersion, id: id, pipeline: spec.name, profile: profile.name,
            createdAtMs: clock.nowMs(), finished: true, savepoint: false, incremental: false, backend: backend,
            progress: RestoredProgress(checkpoint: id, positions: progress.positions, eventTimes: progress.eventTimes,
                                       watermarks: [:]),
            state: [], pending: carried, durations: .init(alignMs: 0, pauseMs: 0, copyMs: 0, totalMs: 0),
            bytesCopied: 0)
        try store.write(manifest)
        try sink.commit(carried)
        carried.removeAll()
        try store.retire(retain: spec.checkpoints.retain)
        stats.completed += 1
        stats.lastId = id
    }

    /// Output staged for checkpoints after they were given up joins `carried`; their snapshots go.
    private func collectLate() {
        let late = job.ledger.takeLate()
        carried += late.pending
        for dir in late.stateDirectories { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func discard(_ f: Flight) {
        let record = job.ledger.take(f.id)
        carried += record.pending
        if let dir = record.stateDirectory { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.removeItem(atPath: store.directory(of: f.id))
    }

    private func settle(now: UInt64, ended: Bool = false, cleanEnd: Bool = false) throws(StreamError) {
        var remaining: [Flight] = []
        for f in flights {
            switch job.barriers.status(f.id) {
            case .completed:
                do throws(StreamError) { try complete(f, now: now) } catch {
                    try failed(f, reason: error.message)
                }
            case .aborted where ended && cleanEnd:
                discard(f)
            case .aborted:
                let why = job.ledger.peekFailure(f.id) ?? "declined by a worker (a newer barrier or a cancel overtook it)"
                try failed(f, reason: why, aborted: true)
            case .pending, .unknown:
                let ageMs = Int64((now &- f.startedNs) / 1_000_000)
                if ended && cleanEnd {
                    // The input ended under it: the last manifest (`finished`) takes its place.
                    discard(f)
                } else if ended {
                    try failed(f, reason: "the job ended before every worker acknowledged it")
                } else if ageMs >= profile.checkpointTimeoutMs {
                    job.cancelBarrier(f.id)
                    try failed(
                        f, reason: "timed out after \(ageMs) ms (checkpoint.timeout \(profile.checkpointTimeoutMs) ms)",
                        aborted: true)
                } else {
                    remaining.append(f)
                }
            }
        }
        flights = remaining
    }

    private func complete(_ f: Flight, now: UInt64) throws(StreamError) {
        var record = job.ledger.take(f.id)
        // Sources that finished before this barrier report where they ended.
        let ended = job.ledger.finalProgress
        record.positions.merge(ended.positions) { mine, _ in mine }
        record.eventTimes.merge(ended.eventTimes) { mine, _ in mine }
        let alignMs = Int64((now &- f.startedNs) / 1_000_000)
        let copyStart = clock.monotonicNs()
        var files: [CheckpointManifest.StateFile] = []
        var copied: Int64 = 0
        let incremental = profile.checkpointIncremental
        if let names = record.stateFiles, let dir = record.stateDirectory {
            (files, copied) = try store.copyState(
                from: dir, files: names, id: f.id, incremental: incremental, crcCache: &crcCache)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let copyMs = Int64((clock.monotonicNs() &- copyStart) / 1_000_000)
        collectLate()
        let pending = carried + record.pending
        let manifest = CheckpointManifest(
            version: CheckpointManifest.currentVersion, id: f.id, pipeline: spec.name, profile: profile.name,
            createdAtMs: clock.nowMs(), finished: false, savepoint: false, incremental: incremental, backend: backend,
            progress: RestoredProgress(
                checkpoint: f.id, positions: record.positions, eventTimes: record.eventTimes,
                watermarks: record.watermarks),
            state: files, pending: pending,
            durations: .init(
                alignMs: alignMs, pauseMs: Int64(record.pauseNs / 1_000_000), copyMs: copyMs,
                totalMs: Int64((clock.monotonicNs() &- f.startedNs) / 1_000_000)),
            bytesCopied: copied)
        try store.write(manifest)
        // From here on the checkpoint exists: publishing its output may be repeated by a restore, never lost.
        carried.removeAll()
        try sink.commit(pending)
        job.checkpointCompleted(f.id)
        try store.retire(retain: spec.checkpoints.retain)
        consecutiveFailures = 0
        lastEndNs = clock.monotonicNs()
        stats.completed += 1
        stats.lastId = f.id
        stats.lastDurationMs = manifest.durations.totalMs
        stats.lastPauseMs = manifest.durations.pauseMs
        stats.lastBytesCopied = copied
        stats.lastSizeBytes = files.reduce(0) { $0 + $1.size }
        RunLog.write(
            "checkpoint \(f.id) complete: \(files.count) state files, \(copied) bytes copied"
                + (incremental ? " (incremental)" : " (full)") + ", \(pending.count) output files published, "
                + "\(manifest.durations.totalMs) ms, pause \(manifest.durations.pauseMs) ms")
    }

    private func failed(_ f: Flight, reason: String, aborted: Bool = false) throws(StreamError) {
        let record = job.ledger.take(f.id)
        carried += record.pending
        if let dir = record.stateDirectory { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.removeItem(atPath: store.directory(of: f.id))
        consecutiveFailures += 1
        stats.failed += 1
        if aborted { stats.aborted += 1 }
        lastEndNs = clock.monotonicNs()
        let tolerable = profile.checkpointTolerableFailures
        RunLog.write(
            "checkpoint \(f.id) failed: \(reason) (\(consecutiveFailures) in a row; checkpoint.tolerable_failures "
                + "\(tolerable))")
        if consecutiveFailures > tolerable || f.final {
            throw StreamError(
                .checkpoint,
                f.final
                    ? "the final checkpoint \(f.id) failed: \(reason)"
                    : "\(consecutiveFailures) checkpoints in a row failed, more than checkpoint.tolerable_failures "
                        + "(\(tolerable)); the last: \(reason)")
        }
    }
}
