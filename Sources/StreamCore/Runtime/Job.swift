import Synchronization

/// A running job: OS threads per worker of every stage, joined by input gates (a bounded queue per
/// sender), with checkpoint barriers delivered in order, aligned and acknowledged.
///
/// Lifecycle: `start()` spawns every worker; sources read until they finish, `requestStop()` is called or
/// `--max-records` is reached, then send `end` downstream; each stage drains, fires what is left, and ends;
/// the sink flushes and closes. A failure anywhere closes every gate so that every thread wakes and
/// exits, and `wait()` returns the first error.
///
/// Barriers: `triggerBarrier()` (or `injectBarrier(_:)`) queues a barrier at every source worker, which
/// sends it within one poll timeout, ahead of anything it reads later, even while back-pressured. Every
/// worker acknowledges it after its snapshot; `barriers` tells when all have. `rescale(_:profile:)`
/// changes the parallelism of one or several stages at one barrier, moving key-group ranges, not state.
public final class Job: Sendable {
    public let plan: JobPlan
    let clock: any StreamClock
    let badRecords: BadRecordHandler
    let limits: RunLimits
    let state: (any KeyedStateBackend)?
    /// Runs first on every worker thread with the thread's index in the job (e.g. to bind an allocator arena).
    let onWorkerStart: (@Sendable (Int) -> Void)?
    /// The live knobs every worker reads per loop.
    public let live: LiveProfile
    /// Acknowledgements of every barrier.
    public let barriers: BarrierTracker
    /// Checkpoints are taken: where state snapshots are staged, and what a restore hands the workers.
    public let checkpointing: JobCheckpointing?
    /// What the tasks recorded for each checkpoint.
    public let ledger = CheckpointLedger()
    let snapshots = StateSnapshotGate()
    /// Set by `stopAtFinalBarrier`: operators end without firing what is still open (it stays in state).
    let suspending = Atomic<Bool>(false)
    /// The newest completed checkpoint, for sources to commit its positions outside.
    let completedCheckpoint = Atomic<Int64>(0)

    let stages: [StageRuntime]
    /// Barrier requests per source worker.
    let sourceQueues: [SourceBarrierQueue]
    /// Each source worker's slowest live event time, for watermark alignment across workers.
    let alignmentBoard: AlignmentBoard
    private let threads = Mutex<[WorkerThread]>([])
    private let firstError = Mutex<StreamError?>(nil)
    let stopRequested = Atomic<Bool>(false)
    let rowsRead = Atomic<Int>(0)
    let startedWorkers = Atomic<Int>(0)
    let exitedWorkers = Atomic<Int>(0)
    private let lastBarrier = Mutex<Int64>(0)
    private let nextBarrierId = Mutex<Int64>(0)
    /// The parallelism changes each rescale barrier carries.
    private let rescales = Mutex<[Int64: [Rescale]]>([:])
    /// Serialises parallelism changes: one at a time.
    let rescaling = Mutex<Void>(())
    /// Held from reserving a barrier id to injecting it.
    let injecting = Mutex<Void>(())
    /// Tasks that retired at a rescale barrier (their exit aborts nothing).
    let retiredTasks = Mutex<Set<Int>>([])
    /// Joins of every stage's gates, by gate identity.
    let joins = Mutex<[ObjectIdentifier: GateJoins]>([:])

    public init(
        plan: JobPlan, clock: any StreamClock = SystemClock(), badRecords: BadRecordHandler,
        limits: RunLimits = RunLimits(), state: (any KeyedStateBackend)? = nil,
        checkpointing: JobCheckpointing? = nil, onWorkerStart: (@Sendable (Int) -> Void)? = nil
    ) {
        precondition(plan.stages.count >= 2, "a job needs a source and a sink")
        self.checkpointing = checkpointing
        // Barrier ids go on from the restored checkpoint: a checkpoint's id orders it among all of the job's.
        if let restored = checkpointing?.restored?.checkpoint {
            lastBarrier.withLock { $0 = restored }
        }
        self.onWorkerStart = onWorkerStart
        self.plan = plan
        self.clock = clock
        self.badRecords = badRecords
        self.limits = limits
        self.state = state
        live = LiveProfile(plan.profile)
        barriers = BarrierTracker()
        let capacity = max(1, plan.profile.channelCapacity)
        var stages: [StageRuntime] = []
        for (s, stage) in plan.stages.enumerated() {
            let inputs = s == 0 ? 0 : plan.stages[s - 1].parallelism
            let gates = s == 0 ? [] : (0..<stage.parallelism).map { _ in InputGate(inputs: inputs, capacity: capacity) }
            stages.append(StageRuntime(index: s, plan: stage, gates: gates, inputSlots: inputs))
        }
        self.stages = stages
        sourceQueues = (0..<plan.stages[0].parallelism).map { _ in SourceBarrierQueue() }
        alignmentBoard = AlignmentBoard(workers: plan.stages[0].parallelism)
    }

    /// Spawns every worker thread.
    public func start() throws(StreamError) {
        for (s, stage) in stages.enumerated() {
            let gates = stage.layout.withLock { $0.gates }
            for w in 0..<stage.plan.parallelism {
                let metrics = WorkerMetrics(stage: stage.plan.id, worker: w, gate: s == 0 ? nil : gates[w])
                stage.metrics.withLock { $0.append(metrics) }
                try spawn(name: "\(stage.plan.id)-\(w)") { [self] task throws(StreamError) in
                    try runWorker(stage: s, worker: w, task: task, metrics: metrics)
                }
            }
        }
    }

    /// Starts one worker thread; `body` gets the task's id for barrier acknowledgements.
    func spawn(name: String, _ body: @escaping @Sendable (Int) throws(StreamError) -> Void) throws(StreamError) {
        let index = startedWorkers.add(1, ordering: .relaxed).newValue - 1
        barriers.taskStarted(index)
        let t = WorkerThread(name: name) { [self] in
            onWorkerStart?(index)
            do throws(StreamError) {
                try body(index)
            } catch {
                fail(error)
            }
            // A task that ended cleanly (input finished, retired at a rescale) owes nothing more; one that
            // stopped because the job is failing leaves every barrier it owed incomplete.
            barriers.taskExited(index, retired: retiredTasks.withLock { $0.contains(index) } || !failed)
            exitedWorkers.add(1, ordering: .releasing)
        }
        threads.withLock { $0.append(t) }
        do {
            try t.start()
        } catch {
            threads.withLock { $0.removeLast() }
            barriers.taskExited(index)
            exitedWorkers.add(1, ordering: .releasing)
            fail(error)
            throw error
        }
    }

    /// Waits for every worker; throws the first failure.
    public func wait() throws(StreamError) {
        var joined = 0
        while true {
            let all = threads.withLock { $0 }
            guard joined < all.count else { break }
            for t in all[joined...] { t.join() }
            joined = all.count
        }
        if let e = firstError.withLock({ $0 }) { throw e }
    }

    /// Every worker has exited (the job ended or failed); `wait()` returns at once.
    public var isFinished: Bool {
        exitedWorkers.load(ordering: .acquiring) == startedWorkers.load(ordering: .acquiring)
            && startedWorkers.load(ordering: .relaxed) > 0
    }

    /// Asks the sources to stop reading; everything read so far is processed and flushed.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Queues barrier `barrier` at every source worker. Ids must grow; an id not above the last is ignored.
    public func injectBarrier(_ barrier: Barrier) { injectBarrier(barrier, statefulWorkers: nil) }

    /// `statefulWorkers`: how many stateful workers take part in this barrier's snapshot, when the layout is
    /// about to change (a rescale barrier is aligned by the old workers).
    func injectBarrier(_ barrier: Barrier, statefulWorkers: Int?) {
        let fresh = lastBarrier.withLock { last -> Bool in
            guard barrier.id > last else { return false }
            last = barrier.id
            // Registered while holding the id lock so acknowledgements find it, whatever the threads do.
            barriers.injected(barrier.id)
            if checkpointing != nil, state != nil {
                let stateful = statefulWorkers ?? stages.filter(\.plan.stateful).reduce(0) { $0 + $1.parallelism }
                if stateful > 0 { snapshots.expect(barrier.id, workers: stateful) }
            }
            return true
        }
        guard fresh else { return }
        for q in sourceQueues { q.push(.barrier(barrier)) }
    }

    /// Queues barrier `id` at every source worker.
    public func injectBarrier(_ id: Int64) { injectBarrier(Barrier(id: id)) }

    /// The newest barrier injected (by anyone: the checkpoint coordinator, a rescale, a test).
    public var lastInjectedBarrier: Int64 { lastBarrier.withLock { $0 } }

    /// Queues the next barrier at every source worker and returns its id.
    @discardableResult
    public func triggerBarrier(profile: String? = nil) -> Int64 {
        // Reserving and injecting under one lock: ids reach the sources in the order they were handed out
        // (a rescale reserves its id, prepares the new layout, then injects it under the same lock).
        injecting.withLock { _ in
            let id = reserveBarrierId()
            injectBarrier(Barrier(id: id, profile: profile))
            return id
        }
    }

    /// An id above every barrier requested so far, not yet injected.
    func reserveBarrierId() -> Int64 {
        nextBarrierId.withLock { next in
            let last = lastBarrier.withLock { $0 }
            next = max(next, last) + 1
            return next
        }
    }

    func registerRescale(_ change: Rescale) { rescales.withLock { $0[change.barrier, default: []].append(change) } }

    /// Ends the job at a final barrier: sources send it and stop; operators end without firing what is still
    /// open, so it stays in state (and in the checkpoint the barrier takes). Returns the barrier's id.
    @discardableResult
    public func stopAtFinalBarrier() -> Int64 {
        suspending.store(true, ordering: .releasing)
        let id = triggerBarrier()
        requestStop()
        return id
    }

    /// Every source worker reached the end offsets of a `--until caught-up` run and waits for the final
    /// barrier (checkpointing keeps them from ending on their own).
    public var sourcesCaughtUp: Bool { sourceQueues.allSatisfy { $0.caughtUp || $0.ended } }

    /// Checkpoint `id` completed: sources commit its positions outside (the consumer group).
    public func checkpointCompleted(_ id: Int64) {
        while true {
            let current = completedCheckpoint.load(ordering: .acquiring)
            guard id > current else { return }
            if completedCheckpoint.compareExchange(expected: current, desired: id, ordering: .acquiringAndReleasing)
                .exchanged
            {
                return
            }
        }
    }

    /// Every source worker has sent barrier `id` (or ended): rows read from now on come after it.
    public func sourcesPassed(barrier id: Int64) -> Bool {
        sourceQueues.allSatisfy { $0.lastSent >= id || $0.ended }
    }

    /// Cancels barrier `id`: workers aligning it stop, forward the cancel marker and decline it.
    public func cancelBarrier(_ id: Int64) {
        barriers.decline(id)
        for q in sourceQueues { q.push(.cancel(id)) }
    }

    /// Swaps the live profile: batch size, flush latency, channel bound and sink throttle apply at once.
    /// Parallelism is changed with `rescale(_:profile:)`.
    public func updateProfile(_ profile: Profile) {
        live.swap(profile)
        let capacity = max(1, profile.channelCapacity)
        for stage in stages { for g in stage.layout.withLock({ $0.gates }) { g.setCapacity(capacity) } }
    }

    /// Fails the job: the first error wins; every gate closes so every thread exits.
    public func fail(_ error: StreamError) {
        let first = firstError.withLock { e -> Bool in
            if e == nil {
                e = error
                return true
            }
            return false
        }
        guard first else { return }
        // Gates first: a source that saw the stop before they closed would send an end that lets the
        // operators fire what is open and the sinks close as if the input had ended. Released: a source
        // that sees the stop sees the error and the closed gates too.
        closeAllGates()
        stopRequested.store(true, ordering: .releasing)
    }

    func closeAllGates() {
        for stage in stages { for g in stage.layout.withLock({ $0.gates + $0.retiredGates }) { g.close() } }
    }

    public var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    public var failed: Bool { firstError.withLock { $0 != nil } }

    /// Every worker's cumulative figures, plus the state backend's native ones.
    public func snapshot() -> JobSnapshot {
        JobSnapshot(
            takenAtNs: clock.monotonicNs(),
            workers: stages.flatMap { stage in stage.metrics.withLock { $0 }.map { $0.snapshot() } },
            state: state?.metrics() ?? [:])
    }

    /// Current parallelism of stage `id`.
    public func parallelism(of id: String) -> Int? { stages.first { $0.plan.id == id }?.parallelism }

    /// Total rows the sources have read.
    public var rowsReadTotal: Int { rowsRead.load(ordering: .relaxed) }

    /// Bad records skipped or dead-lettered.
    public var badRecordCount: Int { badRecords.count }

    /// Bad records skipped or dead-lettered, by reason (`DecodeError.reason`).
    public var badRecordsByReason: [String: Int] { badRecords.countsByReason }

    func rescale(at barrier: Int64, stage: Int) -> Rescale? {
        rescales.withLock { r in r[barrier]?.first { $0.stage == stage } }
    }

    /// A worker of `stage` ended before aligning the barriers of its pending rescales: no input will send
    /// them, so they cannot happen; their added workers end without reading.
    func abandonRescales(stage: Int, after latest: Int64) {
        for r in rescales.withLock({ $0.values.joined() }) where r.stage == stage && r.barrier > latest {
            r.abandon()
        }
    }

    /// Stop-the-world nanoseconds of the parallelism change at `barrier` (its longest, when it changed several
    /// stages), once the workers of every changed stage met.
    public func rescalePauseNs(barrier: Int64) -> UInt64? {
        guard let changes = rescales.withLock({ $0[barrier] }), !changes.isEmpty else { return nil }
        var longest: UInt64 = 0
        for change in changes {
            guard let ns = change.pauseNs else { return nil }
            longest = max(longest, ns)
        }
        return longest
    }

    func gateJoins(_ gate: InputGate) -> GateJoins {
        joins.withLock { j in
            if let g = j[ObjectIdentifier(gate)] { return g }
            let g = GateJoins()
            j[ObjectIdentifier(gate)] = g
            return g
        }
    }
}

/// Barriers and cancel markers waiting at one source worker, in the order requested.
final class SourceBarrierQueue: Sendable {
    enum Item: Sendable {
        case barrier(Barrier)
        case cancel(Int64)
    }
    private let items = Mutex<[Item]>([])
    private let waiting = Atomic<Int>(0)
    private let sent = Atomic<Int64>(0)
    private let done = Atomic<Bool>(false)
    private let reachedEnd = Atomic<Bool>(false)

    /// The worker reached the end offsets of a caught-up run and waits for the final barrier.
    var caughtUp: Bool { reachedEnd.load(ordering: .acquiring) }
    func markCaughtUp() { reachedEnd.store(true, ordering: .releasing) }

    /// The newest barrier the source worker has sent downstream.
    var lastSent: Int64 { sent.load(ordering: .acquiring) }
    func markSent(_ id: Int64) { sent.store(id, ordering: .releasing) }
    /// The source worker ended: it sends nothing more.
    var ended: Bool { done.load(ordering: .acquiring) }
    func markEnded() { done.store(true, ordering: .releasing) }

    func push(_ item: Item) {
        items.withLock { $0.append(item) }
        waiting.add(1, ordering: .releasing)
    }

    /// Cheap check from the source's hot loop.
    var hasPending: Bool { waiting.load(ordering: .acquiring) > 0 }

    func take() -> [Item] {
        guard hasPending else { return [] }
        let taken = items.withLock { list -> [Item] in
            defer { list.removeAll() }
            return list
        }
        waiting.subtract(taken.count, ordering: .releasing)
        return taken
    }
}
