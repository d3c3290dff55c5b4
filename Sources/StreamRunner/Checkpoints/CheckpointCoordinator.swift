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
/// task acknowledged, has them written (state files, manifest, then the sinks' staged output published and
/// old checkpoints retired: `CheckpointWriter`, on a thread of its own) and tells the sources (consumer-group
/// commit). A checkpoint past its timeout — aligning, or being written — is counted failed; more consecutive
/// failures than the profile tolerates fail the job.
///
/// Driven by the runner's supervision loop (`tick`), on the runner's thread: the workers never wait for it
/// except the stateful ones during the state snapshot itself, and it never waits for the file system except at
/// the job's end.
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
    private(set) var finalRequested = false
    private let writer: CheckpointWriter
    /// The checkpoint the writer has in hand: its flight, the output its manifest covers (back to `carried`
    /// should the write fail), and how many checkpoint timeouts it has been counted failed for.
    private var writing: (flight: Flight, pending: [PendingOutput], timeoutsCounted: Int)?

    init(store: CheckpointStore, job: Job, sink: any SinkConnector, spec: PipelineSpec, clock: any StreamClock,
         backend: String, restoredFrom: Int64?) {
        self.store = store
        self.job = job
        self.sink = sink
        self.spec = spec
        self.clock = clock
        self.backend = backend
        stats.restoredFrom = restoredFrom
        writer = CheckpointWriter(store: store, sink: sink, pipeline: spec.name, backend: backend, clock: clock)
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
        try pollWriter(now: now)
        try settle(now: now)
        guard !finalRequested, flights.isEmpty, writing == nil, !job.failed, !job.isStopRequested else { return }
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
        defer { writer.close() }
        adoptForeignBarriers(now: clock.monotonicNs())
        if failed, let w = writing, w.timeoutsCounted > 0 {
            // The job failed, likely for this very write: waiting for a directory that does not answer helps no one.
            RunLog.write("checkpoint \(w.flight.id) is still being written; the run ends without waiting for it")
            return
        }
        try drainWriter()
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
        let last = Flight(id: id, startedNs: clock.monotonicNs(), final: true)
        let pending = carried
        carried.removeAll()
        writer.start(
            CheckpointWrite(
                id: id, startedNs: last.startedNs, alignMs: 0, pauseMs: 0, profile: profile.name, incremental: false,
                stagingDirectory: nil, stateFiles: nil,
                progress: RestoredProgress(
                    checkpoint: id, positions: progress.positions, eventTimes: progress.eventTimes, watermarks: [:]),
                pending: pending, retain: spec.checkpoints.retain, finished: true))
        writing = (last, pending, 0)
        try drainWriter()
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
            case .completed where ended:
                if writer.isBusy {
                    // Only after a failure: the write in hand did not end, so this one cannot be made.
                    try failed(f, reason: "checkpoint \(writing?.flight.id ?? 0) is still being written")
                } else {
                    handOver(f, now: now)
                    try drainWriter()
                }
            case .completed:
                if writing == nil { handOver(f, now: now) } else { remaining.append(f) }
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

    /// Hands the completed checkpoint `f` to the writer, with the output it covers.
    private func handOver(_ f: Flight, now: UInt64) {
        var record = job.ledger.take(f.id)
        // Sources that finished before this barrier report where they ended.
        let ended = job.ledger.finalProgress
        record.positions.merge(ended.positions) { mine, _ in mine }
        record.eventTimes.merge(ended.eventTimes) { mine, _ in mine }
        collectLate()
        let pending = carried + record.pending
        carried.removeAll()
        writer.start(
            CheckpointWrite(
                id: f.id, startedNs: f.startedNs, alignMs: Int64((now &- f.startedNs) / 1_000_000),
                pauseMs: Int64(record.pauseNs / 1_000_000), profile: profile.name,
                incremental: profile.checkpointIncremental, stagingDirectory: record.stateDirectory,
                stateFiles: record.stateFiles,
                progress: RestoredProgress(
                    checkpoint: f.id, positions: record.positions, eventTimes: record.eventTimes,
                    watermarks: record.watermarks),
                pending: pending, retain: spec.checkpoints.retain))
        writing = (f, pending, 0)
    }

    /// Takes the writer's result when it has one; counts a write that runs past the checkpoint timeout as
    /// failed, once per timeout, and goes on waiting for it (a write cannot be called back).
    private func pollWriter(now: UInt64) throws(StreamError) {
        guard let w = writing else { return }
        if let (_, result) = writer.takeResult() {
            writing = nil
            switch result {
            case .written(let manifest):
                written(w.flight, manifest, timeoutsCounted: w.timeoutsCounted)
            case .failed(let reason, let manifestWritten):
                // Output not known to be published goes with the next checkpoint (publishing is idempotent).
                carried = w.pending + carried
                if !manifestWritten { try? FileManager.default.removeItem(atPath: store.directory(of: w.flight.id)) }
                lastEndNs = clock.monotonicNs()
                try countFailure(w.flight, reason: reason)
            }
            return
        }
        let ageMs = Int64((now &- w.flight.startedNs) / 1_000_000)
        let timeout = profile.checkpointTimeoutMs
        guard ageMs >= timeout * Int64(w.timeoutsCounted + 1) else { return }
        writing?.timeoutsCounted += 1
        try countFailure(
            w.flight,
            reason: "writing it to \(store.root) has not finished after \(ageMs) ms (checkpoint.timeout \(timeout) ms): "
                + "the checkpoint directory does not answer; still waiting for it")
    }

    /// Waits for the write in hand to end (the job's end): its timeouts still count.
    private func drainWriter() throws(StreamError) {
        while writing != nil {
            try pollWriter(now: clock.monotonicNs())
            if writing != nil { usleep(1_000) }
        }
    }

    /// Checkpoint `f` is durable and its output published.
    private func written(_ f: Flight, _ manifest: CheckpointManifest, timeoutsCounted: Int) {
        job.checkpointCompleted(f.id)
        consecutiveFailures = 0
        lastEndNs = clock.monotonicNs()
        stats.completed += 1
        stats.lastId = f.id
        stats.lastDurationMs = manifest.durations.totalMs
        stats.lastPauseMs = manifest.durations.pauseMs
        stats.lastBytesCopied = manifest.bytesCopied
        stats.lastSizeBytes = manifest.state.reduce(0) { $0 + $1.size }
        guard !manifest.finished else { return }
        RunLog.write(
            "checkpoint \(f.id) complete: \(manifest.state.count) state files, \(manifest.bytesCopied) bytes copied"
                + (manifest.incremental ? " (incremental)" : " (full)") + ", \(manifest.pending.count) output files "
                + "published, \(manifest.durations.totalMs) ms, pause \(manifest.durations.pauseMs) ms"
                + (timeoutsCounted > 0 ? " (late: counted failed \(timeoutsCounted) times while it was written)" : ""))
    }

    private func failed(_ f: Flight, reason: String, aborted: Bool = false) throws(StreamError) {
        let record = job.ledger.take(f.id)
        carried += record.pending
        if let dir = record.stateDirectory { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.removeItem(atPath: store.directory(of: f.id))
        lastEndNs = clock.monotonicNs()
        try countFailure(f, reason: reason, aborted: aborted)
    }

    private func countFailure(_ f: Flight, reason: String, aborted: Bool = false) throws(StreamError) {
        consecutiveFailures += 1
        stats.failed += 1
        if aborted { stats.aborted += 1 }
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
