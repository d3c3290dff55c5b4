import Synchronization

/// A running job: one OS thread per worker of every stage, joined by bounded channels.
///
/// Lifecycle: `start()` spawns every worker; sources read until they finish, `requestStop()` is called or
/// `--max-records` is reached, then send `end` downstream; each stage drains, fires what is left, and ends;
/// the sink flushes and closes. A failure anywhere closes every channel so that every thread wakes and
/// exits, and `wait()` returns the first error.
public final class Job: Sendable {
    public let plan: JobPlan
    let clock: any StreamClock
    let badRecords: BadRecordHandler
    let limits: RunLimits
    let state: (any KeyedStateBackend)?
    /// Runs first on every worker thread with the thread's index in the job (e.g. to bind an allocator arena).
    let onWorkerStart: (@Sendable (Int) -> Void)?

    /// Input channel of every worker of stages 1..n (stage 0, the source, has none).
    let inboxes: [[BoundedChannel<Envelope>]]
    let workerMetrics: [[WorkerMetrics]]
    private let threads = Mutex<[WorkerThread]>([])
    private let firstError = Mutex<StreamError?>(nil)
    let stopRequested = Atomic<Bool>(false)
    let rowsRead = Atomic<Int>(0)
    let pendingBarrier = Atomic<Int64>(0)
    let exitedWorkers = Atomic<Int>(0)

    public init(
        plan: JobPlan, clock: any StreamClock = SystemClock(), badRecords: BadRecordHandler,
        limits: RunLimits = RunLimits(), state: (any KeyedStateBackend)? = nil,
        onWorkerStart: (@Sendable (Int) -> Void)? = nil
    ) {
        self.onWorkerStart = onWorkerStart
        precondition(plan.stages.count >= 2, "a job needs a source and a sink")
        self.plan = plan
        self.clock = clock
        self.badRecords = badRecords
        self.limits = limits
        self.state = state
        let capacity = max(1, plan.profile.channelCapacity)
        var inboxes: [[BoundedChannel<Envelope>]] = [[]]
        for stage in plan.stages.dropFirst() {
            // Room for `capacity` batches from each upstream worker keeps fan-in from starving one sender.
            inboxes.append((0..<stage.parallelism).map { _ in BoundedChannel(capacity: capacity) })
        }
        self.inboxes = inboxes
        self.workerMetrics = plan.stages.enumerated().map { s, stage in
            (0..<stage.parallelism).map { w in
                let inbox = s == 0 ? nil : inboxes[s][w]
                return WorkerMetrics(
                    stage: stage.id, worker: w, inputFill: { inbox?.fill ?? 0 }, inputCapacity: inbox?.capacity ?? 0)
            }
        }
    }

    /// Spawns every worker thread.
    public func start() throws(StreamError) {
        var started: [WorkerThread] = []
        for (s, stage) in plan.stages.enumerated() {
            for w in 0..<stage.parallelism {
                let index = started.count
                let t = WorkerThread(name: "\(stage.id)-\(w)") { [self] in
                    onWorkerStart?(index)
                    do throws(StreamError) {
                        try runWorker(stage: s, worker: w)
                    } catch {
                        fail(error)
                    }
                    exitedWorkers.add(1, ordering: .releasing)
                }
                do {
                    try t.start()
                } catch {
                    fail(error)
                    threads.withLock { $0 = started }
                    throw error
                }
                started.append(t)
            }
        }
        threads.withLock { $0 = started }
    }

    /// Waits for every worker; throws the first failure.
    public func wait() throws(StreamError) {
        let all = threads.withLock { $0 }
        for t in all { t.join() }
        if let e = firstError.withLock({ $0 }) { throw e }
    }

    /// Every worker has exited (the job ended or failed); `wait()` returns at once.
    public var isFinished: Bool {
        exitedWorkers.load(ordering: .acquiring) == plan.stages.reduce(0) { $0 + $1.parallelism }
    }

    /// Asks the sources to stop reading; everything read so far is processed and flushed.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Injects checkpoint barrier `id` at every source worker.
    public func injectBarrier(_ id: Int64) { pendingBarrier.store(id, ordering: .relaxed) }

    /// Fails the job: the first error wins; every channel closes so every thread exits.
    public func fail(_ error: StreamError) {
        let first = firstError.withLock { e -> Bool in
            if e == nil {
                e = error
                return true
            }
            return false
        }
        guard first else { return }
        stopRequested.store(true, ordering: .relaxed)
        for stage in inboxes { for c in stage { c.close() } }
    }

    public var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    public var failed: Bool { firstError.withLock { $0 != nil } }

    /// Every worker's cumulative figures, plus the state backend's native ones.
    public func snapshot() -> JobSnapshot {
        JobSnapshot(
            takenAtNs: clock.monotonicNs(), workers: workerMetrics.flatMap { $0.map { $0.snapshot() } },
            state: state?.metrics() ?? [:])
    }

    /// Total rows the sources have read.
    public var rowsReadTotal: Int { rowsRead.load(ordering: .relaxed) }

    /// Bad records skipped or dead-lettered.
    public var badRecordCount: Int { badRecords.count }

    func runWorker(stage s: Int, worker w: Int) throws(StreamError) {
        let stage = plan.stages[s]
        let metrics = workerMetrics[s][w]
        let emitter: Emitter? =
            s + 1 < plan.stages.count
            ? Emitter(
                from: w, targets: inboxes[s + 1], partitioning: plan.stages[s + 1].input,
                keyGroups: plan.keyGroups, metrics: metrics, clock: clock) : nil
        switch stage.kind {
        case .source(let connector):
            try SourceWorker(
                job: self, stage: stage, worker: w, connector: connector, emitter: emitter!, metrics: metrics
            )
            .run()
        case .transform(let make):
            let op = try make(w, stage.parallelism)
            try OperatorWorker(
                job: self, inbox: inboxes[s][w], inputs: plan.stages[s - 1].parallelism, op: op, emitter: emitter!,
                metrics: metrics
            ).run()
        case .sink(let connector):
            let writer = try connector.openWriter(
                SinkContext(
                    worker: w, workers: stage.parallelism, schema: stage.outputSchema, profile: plan.profile,
                    clock: clock))
            try SinkWorker(
                job: self, inbox: inboxes[s][w], inputs: plan.stages[s - 1].parallelism, writer: writer,
                metrics: metrics
            ).run()
        }
    }
}
