import Foundation
import StreamControl
import StreamCore
import StreamKafka
import StreamOps
import StreamPipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a run is asked to do beside the pipeline and its profile: limits, embedded-broker data, reporting.
public struct RunOptions: Sendable {
    /// Stop the sources after this many rows in total.
    public var maxRecords: Int?
    /// `.caughtUp` reads to the end offsets sampled at start, then ends.
    public var bound: SourceBound
    /// Stop after this long; a caught-up run still behind then ends `behind`.
    public var maxDurationMs: Int64?
    /// Data put into the embedded broker before the first start.
    public var embeddedFill: EmbeddedFill
    /// The progress on stderr: off, one line in place (a terminal), or a log line every so often (a pipe).
    public var progress: ProgressMode
    /// Bind worker threads to the process's jemalloc arenas.
    public var bindArenas: Bool
    /// How often the supervisor looks at the job, milliseconds.
    public var superviseEveryMs: Int
    /// Copy the last checkpoint, self-contained, to this directory when the run ends.
    public var savepointOnExit: String?
    /// Start from the savepoint in this directory instead of the latest checkpoint.
    public var fromSavepoint: String?
    /// Restarts inside the process after a failure (each resumes from the latest checkpoint).
    public var restart = RestartPolicy()

    public init(
        maxRecords: Int? = nil, bound: SourceBound = .unbounded, maxDurationMs: Int64? = nil,
        embeddedFill: EmbeddedFill = EmbeddedFill(partitions: 8), progress: ProgressMode = .off, bindArenas: Bool = true,
        superviseEveryMs: Int = 100
    ) {
        self.maxRecords = maxRecords
        self.bound = bound
        self.maxDurationMs = maxDurationMs
        self.embeddedFill = embeddedFill
        self.progress = progress
        self.bindArenas = bindArenas
        self.superviseEveryMs = superviseEveryMs
    }
}

/// How often and how soon a failed job is started again inside the process. A restart resumes from the
/// latest checkpoint; configuration errors are never retried.
public struct RestartPolicy: Sendable, Hashable {
    /// Restarts allowed after the first start; 0 means none.
    public var maxAttempts: Int
    /// Wait before the first restart.
    public var delayMs: Int64
    /// Each further wait is this many times the last (1: fixed delay), up to `maxDelayMs`.
    public var backoff: Double
    public var maxDelayMs: Int64

    public init(maxAttempts: Int = 0, delayMs: Int64 = 1_000, backoff: Double = 2, maxDelayMs: Int64 = 60_000) {
        self.maxAttempts = maxAttempts
        self.delayMs = delayMs
        self.backoff = backoff
        self.maxDelayMs = maxDelayMs
    }

    /// The wait before restart number `attempt` (1-based).
    public func delay(before attempt: Int) -> Int64 {
        var d = Double(delayMs)
        for _ in 1..<max(1, attempt) { d *= backoff }
        return min(maxDelayMs, Int64(d))
    }
}

/// How one run of the job ended.
public struct RunOutcome: Sendable {
    public var summary: RunSummary
    /// The first failure, nil when the job ended normally.
    public var failure: StreamError?
    /// `--max-duration` ran out before a caught-up run reached its end offsets.
    public var stillBehind: Bool
    /// Late rows exceeded `event_time.max_late_share` of the rows read.
    public var tooLate: Bool = false
}

/// Runs one pipeline in this process: assembles the parts (connectors, embedded broker, state), starts
/// the job, supervises it (stop requests, deadline, progress), and produces the summary. A stopped job
/// can be restarted with the same parts; the embedded broker and its data survive the restart.
///
/// The command line parses flags into a `RunOptions` and calls this; tests drive it in-process.
public final class JobRunner: @unchecked Sendable {
    public let spec: PipelineSpec
    public let profile: Profile
    public let options: RunOptions
    public let clock: any StreamClock

    private struct Current {
        var assembly: JobAssembly
        var job: Job
        var startedNs: UInt64
        var coordinator: CheckpointCoordinator?
    }
    // Guards `current`; the runner is driven from one thread, but stop requests and snapshots may come
    // from others (a signal watcher, a control endpoint).
    private let lock = Mutex<Void>(())
    private var current: Current?
    /// The embedded broker, kept across restarts; a test may hand one in, filled, before the first start.
    var broker: EmbeddedBroker?
    private let stopAsked = Atomic<Bool>(false)
    private let switchLog = Mutex<[ProfileSwitch]>([])
    private let policyLooks = Atomic<Int>(0)

    /// How many times the automatic policy has looked at the job (once a second of the runner's clock), any
    /// switch it decided included.
    public var policyLookCount: Int { policyLooks.load(ordering: .acquiring) }

    /// `--set` values: applied over every profile the run switches to, as over the one it started with.
    public var settings = KnobSettings()
    /// Where each knob of the starting profile came from (set before `start()`).
    public var startSources: [String: KnobSource] {
        get { sourcesNow.withLock { $0 } }
        set { sourcesNow.withLock { $0 = newValue } }
    }
    private let sourcesNow = Mutex<[String: KnobSource]>([:])

    /// Where each knob of the current profile came from.
    public var profileSources: [String: KnobSource] { sourcesNow.withLock { $0 } }

    func recordSources(_ s: [String: KnobSource]) { sourcesNow.withLock { $0 = s } }

    /// Profile switches of this run, in order.
    public var switches: [ProfileSwitch] { switchLog.withLock { $0 } }

    func recordSwitch(_ s: ProfileSwitch) { switchLog.withLock { $0.append(s) } }

    // The coordinator lives on the supervisor's thread; the control endpoint reads this copy of its figures.
    private let checkpointFigures = Mutex<CheckpointStats?>(nil)

    /// The checkpoint figures of the current start, as of the supervisor's last look; nil without checkpoints.
    public var checkpointStats: CheckpointStats? { checkpointFigures.withLock { $0 } }

    /// How many times the job was started.
    public private(set) var starts = 0

    public init(
        spec: PipelineSpec, profile: Profile, options: RunOptions = RunOptions(), clock: any StreamClock = SystemClock()
    ) {
        self.spec = spec
        self.profile = profile
        self.options = options
        self.clock = clock
    }

    /// The running (or last) job.
    public var job: Job? { lock.withLock { _ in current?.job } }

    /// The running job; a request that comes between the control endpoint's announcement and the job's
    /// start (a client reading `control.json` at once) waits for the start, at most `timeoutMs`.
    func runningJob(waitingAtMostMs timeoutMs: Int = 30_000) -> Job? {
        var waited = 0
        while waited < timeoutMs {
            if let job { return job.isFinished ? nil : job }
            if stopAsked.load(ordering: .relaxed) { return nil }
            usleep(10_000)
            waited += 10
        }
        return nil
    }

    /// The parts of the running (or last) job.
    public var assembly: JobAssembly? { lock.withLock { _ in current?.assembly } }

    /// The checkpoints of the pipeline, when its file asks for them.
    public var checkpointStore: CheckpointStore? {
        spec.checkpoints.enabled ? CheckpointStore(root: spec.checkpoints.dir) : nil
    }

    /// Assembles the parts — resuming from the latest valid checkpoint when there is one — and starts
    /// every worker. Logs where things are.
    public func start() throws(StreamError) {
        precondition(job.map(\.isFinished) ?? true, "start() while the job runs")
        stopAsked.store(false, ordering: .relaxed)
        let startedNs = clock.monotonicNs()
        let store = checkpointStore
        // A savepoint is restored from its own directory; new checkpoints go to checkpoints.dir as usual.
        let source = options.fromSavepoint.map { CheckpointStore(root: $0) } ?? store
        let restored = source?.latestValid()
        if let dir = options.fromSavepoint, restored == nil {
            throw StreamError(.checkpoint, "--from-savepoint \(dir): no valid savepoint there (see above)")
        }
        if let store, options.fromSavepoint == nil, restored == nil, !store.ids().isEmpty {
            throw StreamError(
                .checkpoint,
                "no checkpoint in \(store.root) can be restored (see above); restore one by hand, or run with --fresh "
                    + "to discard them and start over")
        }
        if let store, spec.state.backend == .rocksdb {
            if let restored, let source {
                try Self.replaceState(in: spec.state.dir, with: restored, from: source)
            } else if try Self.clearState(in: spec.state.dir) > 0 {
                // Without a checkpoint nothing of it was committed: the input is read again from the start.
                RunLog.write(
                    "checkpoint: no checkpoint in \(store.root) yet: discarded the state in \(spec.state.dir) that "
                        + "none accounts for")
            }
        }
        let assembly = try JobAssembly(
            spec: spec, profile: profile, embeddedFill: options.embeddedFill, clock: clock, broker: broker,
            bound: options.bound)
        if broker == nil, let b = assembly.embedded {
            RunLog.write("embedded broker at \(b.bootstrapServers)")
        }
        if let fs = assembly.stateFilesystem {
            RunLog.write("state: \(spec.state.backend.rawValue) in \(spec.state.dir) on \(fs)")
        }
        var onWorkerStart: (@Sendable (Int) -> Void)? = nil
        if options.bindArenas {
            let arenas = ProcessArenas.shared
            onWorkerStart = { @Sendable n in _ = arenas.bindCurrentThread(n) }
        }
        let badRecords: BadRecordHandler
        do throws(StreamError) { badRecords = try BadRecordHandler(policy: spec.source.onBadRecord) } catch {
            try? assembly.state.close()
            throw error
        }
        var checkpointing: JobCheckpointing?
        if let store {
            if !assembly.source.resumable {
                RunLog.write(
                    "warning: checkpoints are off: this source cannot resume from a position (a file source "
                        + "reads its files again on every run)")
            } else {
                do throws(StreamError) {
                    if let restored, let source, let memory = assembly.state as? MemoryStateBackend {
                        let dir = store.stagingDirectory + "/restore-\(restored.id)"
                        try? FileManager.default.removeItem(atPath: dir)
                        try source.restoreState(restored, into: dir)
                        try memory.restore(from: dir)
                        try? FileManager.default.removeItem(atPath: dir)
                    }
                    // Publishes what the restored checkpoint staged; discards anything staged after it.
                    try assembly.sink.recover(committing: restored?.pending ?? [])
                } catch {
                    try? assembly.state.close()
                    throw error
                }
                checkpointing = JobCheckpointing(stagingDirectory: store.stagingDirectory, restored: restored?.progress)
                if let restored, let source {
                    RunLog.write(
                        "checkpoint: resuming from \(restored.savepoint ? "savepoint" : "checkpoint") \(restored.id) in "
                            + "\(source.directory(of: restored.id))"
                            + (restored.finished ? " (its input had ended)" : ""))
                }
            }
        }
        let job = Job(
            plan: assembly.plan, clock: clock, badRecords: badRecords,
            limits: RunLimits(maxRecords: options.maxRecords, bound: options.bound), state: assembly.state,
            checkpointing: checkpointing, onWorkerStart: onWorkerStart)
        let coordinator = checkpointing.map { _ in
            CheckpointCoordinator(
                store: store!, job: job, sink: assembly.sink, spec: spec, clock: clock,
                backend: spec.state.backend.rawValue, restoredFrom: restored?.id)
        }
        lock.withLock { _ in
            broker = assembly.embedded
            current = Current(assembly: assembly, job: job, startedNs: startedNs, coordinator: coordinator)
        }
        checkpointFigures.withLock { $0 = coordinator?.stats }
        starts += 1
        RunLog.write("running \(spec.name) with profile \(profile.name) (parallelism \(profile.parallelism))")
        do throws(StreamError) { try job.start() } catch {
            job.fail(error)
            try? job.wait()
            try? assembly.state.close()
            throw error
        }
    }

    /// Asks the sources to stop reading; what was read is processed and flushed. Safe from any thread.
    public func requestStop() {
        stopAsked.store(true, ordering: .relaxed)
        job?.requestStop()
    }

    /// The job's figures now.
    public func snapshot() -> JobSnapshot? { job?.snapshot() }

    /// Supervises the job until every worker has exited — stopping it when `shouldStop` turns true or the
    /// deadline passes — then joins it, closes the state and returns the outcome with its summary.
    public func wait(shouldStop: () -> Bool = { false }) -> RunOutcome {
        guard let run = lock.withLock({ _ in current }) else {
            preconditionFailure("wait() before start()")
        }
        let job = run.job
        let coordinator = run.coordinator
        let reporter = ProgressReporter(job: job, mode: options.progress)
        var timedOut = false
        // With checkpoints a stop takes a final checkpoint: what is still open stays in state, not in the output.
        func stop(_ why: String) {
            if let coordinator {
                RunLog.write("\(why): taking a final checkpoint (signal again to exit at once)")
                coordinator.stopWithFinalCheckpoint()
            } else {
                RunLog.write("\(why): draining what was read (signal again to exit at once)")
                run.assembly.earlyStop.raise()
                job.requestStop()
            }
        }
        var policy = spec.profiles.auto.flatMap { $0.enabled ? $0 : nil }.map {
            ProfilePolicy(spec: $0, current: job.live.current.name, nowMs: clock.nowMs())
        }
        var lastLook = (ns: clock.monotonicNs(), rows: job.rowsReadTotal)
        var switchesNoted = 0
        var heldLogged: String?
        while !job.isFinished {
            usleep(UInt32(options.superviseEveryMs) * 1000)
            if policy != nil, !job.isStopRequested, clock.monotonicNs() &- lastLook.ns >= 1_000_000_000 {
                let now = clock.monotonicNs()
                let rows = job.rowsReadTotal
                let rate = Double(rows - lastLook.rows) / (Double(now &- lastLook.ns) / 1e9)
                lastLook = (now, rows)
                let lag = job.snapshot().sourceLag
                // Every switch so far, automatic or by hand: the current profile, its dwell, its measured cost.
                let made = switches
                for s in made.dropFirst(switchesNoted) { policy!.noteSwitch(to: s.to, pauseMs: s.pauseMs, nowMs: clock.nowMs()) }
                switchesNoted = made.count
                let decision = policy!.observe(.init(nowMs: clock.nowMs(), lagRows: lag, inputRate: rate))
                if let held = policy!.held, held.to != heldLogged {
                    RunLog.write("profile: \(held.reason)")
                }
                heldLogged = policy!.held?.to
                if let decision {
                    do throws(StreamError) {
                        let next = try resolveProfile(decision.to)
                        try switchProfile(to: next.profile, reason: "auto: " + decision.reason)
                        recordSources(next.sources)
                    } catch {
                        RunLog.write("profile: automatic switch to \(decision.to) failed: \(error.message)")
                    }
                }
                policyLooks.add(1, ordering: .releasing)
            }
            if shouldStop(), !job.isStopRequested { stop("stopping") }
            if let deadline = options.maxDurationMs, !timedOut,
                Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000) >= deadline
            {
                timedOut = true
                stop("--max-duration reached")
            }
            if let coordinator, options.bound == .caughtUp || options.maxRecords != nil, !coordinator.finalRequested,
                job.sourcesCaughtUp
            {
                coordinator.stopWithFinalCheckpoint()
            }
            do throws(StreamError) { try coordinator?.tick() } catch { job.fail(error) }
            if let coordinator { checkpointFigures.withLock { $0 = coordinator.stats } }
            reporter.tick()
        }
        reporter.finish()
        var failure: StreamError?
        do { try job.wait() } catch { failure = error }
        do throws(StreamError) { try coordinator?.jobEnded(failed: failure != nil) } catch { failure = failure ?? error }
        if let coordinator { checkpointFigures.withLock { $0 = coordinator.stats } }
        if let dir = options.savepointOnExit, failure == nil, let coordinator, let id = coordinator.stats.lastId {
            do throws(StreamError) {
                try coordinator.store.exportSavepoint(id, to: dir)
                RunLog.write("savepoint: checkpoint \(id) copied to \(dir) (restore with --from-savepoint \(dir))")
            } catch { failure = error }
        }
        do { try run.assembly.state.close() } catch { failure = failure ?? error }

        let snapshot = job.snapshot()
        let lagLeft = snapshot.sourceLag
        let stillBehind = timedOut && options.bound == .caughtUp && lagLeft > 0
        let tooLate = LateShare(spec: spec, snapshot: snapshot).exceeded
        var status = failure != nil ? "failed" : (stillBehind ? "behind" : (tooLate ? "late" : "ok"))
        // The reader closing stdout ends the run normally (exit 0), so the summary says so too.
        if let failure, failure.isStdoutClosed { status = "ok" }
        var summary = RunSummary(
            pipeline: spec.name, status: status,
            error: status == "ok" ? nil : failure?.message, profile: profile.name, snapshot: snapshot, lagLeft: lagLeft,
            badRecords: job.badRecordCount, durationMs: Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000),
            output: run.assembly.outputDescription, peakRSS: ProcessMemory.peakResidentBytes())
        if run.assembly.earlyStop.isRaised, case .file = spec.sink.kind { summary.partialOutput = true }
        summary.checkpoints = coordinator?.stats
        summary.profileSwitches = switches.count
        summary.profileSwitchPauseMs = (switches.reduce(0) { $0 + $1.pauseMs }, switches.map(\.pauseMs).max() ?? 0)
        summary.profile = job.live.current.name
        return RunOutcome(summary: summary, failure: failure, stillBehind: stillBehind, tooLate: tooLate)
    }

    /// The summary of the job as it stands, for an exit that cannot wait for it to end (a second signal).
    public func summaryNow(status: String, error: String?) -> RunSummary? {
        guard let run = lock.withLock({ _ in current }) else { return nil }
        let snapshot = run.job.snapshot()
        let lagLeft = snapshot.sourceLag
        return RunSummary(
            pipeline: spec.name, status: status, error: error, profile: profile.name, snapshot: snapshot,
            lagLeft: lagLeft, badRecords: run.job.badRecordCount,
            durationMs: Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000),
            output: run.assembly.outputDescription, peakRSS: ProcessMemory.peakResidentBytes())
    }

    /// The profile `name` as this pipeline defines it (profile files, the pipeline's overrides, `--set`), with
    /// where each knob came from.
    func resolveProfile(_ name: String) throws(StreamError) -> SourcedProfile {
        do throws(PipelineErrors) {
            return try ProfileLoader.resolveSourced(
                name: name, spec: spec, searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: spec.file),
                settings: settings)
        } catch {
            throw StreamError(.config, error.rendered)
        }
    }

    /// Empties `directory` (but for the lock file) and puts the checkpoint's state files there.
    static func replaceState(
        in directory: String, with manifest: CheckpointManifest, from store: CheckpointStore
    ) throws(StreamError) {
        try clearState(in: directory)
        try store.restoreState(manifest, into: directory)
    }

    /// Removes everything in `directory` but the lock file; returns how many entries went.
    @discardableResult
    static func clearState(in directory: String) throws(StreamError) -> Int {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for n in names where n != StateDirectoryLock.fileName && n != ControlFile.fileName {
            do { try fm.removeItem(atPath: directory + "/" + n) } catch {
                throw StreamError(.state, "cannot clear \(directory): \(error.localizedDescription)")
            }
            removed += 1
        }
        return removed
    }

    /// Starts the job again with fresh parts (state reopened from its directory), after it ended or failed.
    /// The embedded broker of the first start is kept, with its data.
    public func restart() throws(StreamError) {
        if let job, !job.isFinished {
            job.requestStop()
            _ = wait()
        }
        try start()
    }

    /// Start, supervise and wait — and after a failure that is not a configuration error, wait as the
    /// restart policy says and start again from the latest checkpoint, up to its attempts. The outcome is
    /// that of the last start; `restarts` counts the restarts taken.
    public func runWithRestarts(
        shouldStop: () -> Bool = { false }, sleepMs: (Int64) -> Void = { usleep(UInt32(min($0, 4_000_000)) * 1000) }
    ) throws(StreamError) -> RunOutcome {
        var outcome = try run(shouldStop: shouldStop)
        var attempt = 0
        while let failure = outcome.failure, failure.kind != .config, !failure.isStdoutClosed,
            attempt < options.restart.maxAttempts, !shouldStop()
        {
            attempt += 1
            let wait = options.restart.delay(before: attempt)
            RunLog.write(
                "restart \(attempt) of \(options.restart.maxAttempts) in \(wait) ms after: \(failure.message)")
            sleepMs(wait)
            restarts += 1
            outcome = try run(shouldStop: shouldStop)
        }
        return outcome
    }

    /// Restarts taken by `runWithRestarts`.
    public private(set) var restarts = 0

    /// Start, supervise and wait in one call.
    public func run(shouldStop: () -> Bool = { false }) throws(StreamError) -> RunOutcome {
        try start()
        return wait(shouldStop: shouldStop)
    }
}
