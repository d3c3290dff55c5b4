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
    /// Print the progress line.
    public var progress: Bool
    /// Bind worker threads to the process's jemalloc arenas.
    public var bindArenas: Bool
    /// How often the supervisor looks at the job, milliseconds.
    public var superviseEveryMs: Int

    public init(
        maxRecords: Int? = nil, bound: SourceBound = .unbounded, maxDurationMs: Int64? = nil,
        embeddedFill: EmbeddedFill = EmbeddedFill(partitions: 8), progress: Bool = false, bindArenas: Bool = true,
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
    }
    // Guards `current`; the runner is driven from one thread, but stop requests and snapshots may come
    // from others (a signal watcher, a control endpoint).
    private let lock = Mutex<Void>(())
    private var current: Current?
    private var broker: EmbeddedBroker?
    private let stopAsked = Atomic<Bool>(false)
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

    /// The parts of the running (or last) job.
    public var assembly: JobAssembly? { lock.withLock { _ in current?.assembly } }

    /// Assembles the parts and starts every worker. Logs where things are.
    public func start() throws(StreamError) {
        precondition(job.map(\.isFinished) ?? true, "start() while the job runs")
        stopAsked.store(false, ordering: .relaxed)
        let startedNs = clock.monotonicNs()
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
        let job = Job(
            plan: assembly.plan, clock: clock, badRecords: badRecords,
            limits: RunLimits(maxRecords: options.maxRecords, bound: options.bound), state: assembly.state,
            onWorkerStart: onWorkerStart)
        lock.withLock { _ in
            broker = assembly.embedded
            current = Current(assembly: assembly, job: job, startedNs: startedNs)
        }
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
        let reporter = ProgressReporter(job: job, enabled: options.progress)
        var timedOut = false
        while !job.isFinished {
            usleep(UInt32(options.superviseEveryMs) * 1000)
            if shouldStop(), !job.isStopRequested {
                RunLog.write("stopping: draining what was read (signal again to exit at once)")
                run.assembly.earlyStop.raise()
                job.requestStop()
            }
            if let deadline = options.maxDurationMs, !timedOut,
                Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000) >= deadline
            {
                timedOut = true
                RunLog.write("--max-duration reached: stopping")
                run.assembly.earlyStop.raise()
                job.requestStop()
            }
            reporter.tick()
        }
        reporter.finish()
        var failure: StreamError?
        do { try job.wait() } catch { failure = error }
        do { try run.assembly.state.close() } catch { failure = failure ?? error }

        let snapshot = job.snapshot()
        let lagLeft = snapshot.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
        let stillBehind = timedOut && options.bound == .caughtUp && lagLeft > 0
        let tooLate = LateShare(spec: spec, snapshot: snapshot).exceeded
        var status = failure != nil ? "failed" : (stillBehind ? "behind" : (tooLate ? "late" : "ok"))
        // The reader closing stdout ends the run normally (exit 0), so the summary says so too.
        if let failure, failure.isStdoutClosed { status = "ok" }
        var summary = RunSummary(
            pipeline: spec.name, status: status,
            error: failure?.message, profile: profile.name, snapshot: snapshot, lagLeft: lagLeft,
            badRecords: job.badRecordCount, durationMs: Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000),
            output: run.assembly.outputDescription, peakRSS: ProcessMemory.peakResidentBytes())
        if run.assembly.earlyStop.isRaised, case .file = spec.sink.kind { summary.partialOutput = true }
        return RunOutcome(summary: summary, failure: failure, stillBehind: stillBehind, tooLate: tooLate)
    }

    /// The summary of the job as it stands, for an exit that cannot wait for it to end (a second signal).
    public func summaryNow(status: String, error: String?) -> RunSummary? {
        guard let run = lock.withLock({ _ in current }) else { return nil }
        let snapshot = run.job.snapshot()
        let lagLeft = snapshot.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
        return RunSummary(
            pipeline: spec.name, status: status, error: error, profile: profile.name, snapshot: snapshot,
            lagLeft: lagLeft, badRecords: run.job.badRecordCount,
            durationMs: Int64((clock.monotonicNs() &- run.startedNs) / 1_000_000),
            output: run.assembly.outputDescription, peakRSS: ProcessMemory.peakResidentBytes())
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

    /// Start, supervise and wait in one call.
    public func run(shouldStop: () -> Bool = { false }) throws(StreamError) -> RunOutcome {
        try start()
        return wait(shouldStop: shouldStop)
    }
}
