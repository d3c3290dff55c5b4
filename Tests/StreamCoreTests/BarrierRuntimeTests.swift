import Synchronization
import Testing

@testable import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// Barriers end to end through real worker threads: delivered in order from every source worker, aligned
/// at every keyed operator and at the sink, acknowledged; and parallelism changed at barriers.
@Suite struct BarrierRuntimeTests {
    static let gen = GeneratorSpec(seed: 9, rows: 24_000, keys: 300, skew: 1.0, disorderMs: 0, stepMs: 1_000, splits: 1)

    /// source (2) → key_by shop → filter (3) → sink (2): every edge but the last is keyed.
    func routedSpec() -> PipelineSpec {
        PipelineSpec(
            name: "barriers", schema: ordersSchema,
            source: SourceSpec(kind: .generator(Self.gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 0)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(id: "f", kind: .filter(ExpressionText("order_id >= 0"))),
            ],
            sink: SinkSpec(kind: .null))
    }

    @Test func everyRequestedBarrierReachesEverySinkInOrderAlignedWithTheRowsBeforeIt() throws {
        let splits = try generatedSplits(Self.gen, batchRows: 200, splits: 4)
        let source = GatedSource(splits: splits)
        let sink = RecordingSink()
        let profile = Profile(
            name: "t", parallelism: 1, operatorParallelism: ["source": 2, "f": 3, "sink": 2], channelCapacity: 2)
        let plan = try JobPlanner.plan(
            routedSpec(), profile: profile, parts: .init(source: source, sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        // Phase k: 20 batches released and read, then barrier k; the next phase starts once every source
        // worker has sent barrier k, so phase k's rows are exactly those between barriers k-1 and k.
        let phases = 5
        var released = 0
        for k in 1...phases {
            source.release(20)
            released += 20
            try source.waitUntilEmitted(released)
            job.injectBarrier(Int64(k))
            try eventually("sources sent barrier \(k)") { job.sourcesPassed(barrier: Int64(k)) }
        }
        source.releaseAll()
        try job.wait()

        #expect(job.barriers.completed == [1, 2, 3, 4, 5])
        #expect(sink.allRows.count == Self.gen.rows!)
        // Every sink worker saw each barrier once, in order: one flush per barrier.
        for w in 0..<2 {
            let flushes = sink.log(w).filter { $0 == .flush }.count
            #expect(flushes == phases)
        }
        // Rows before flush k at the sinks are exactly the rows read before barrier k: the emitted counts
        // per phase add up at every barrier (20 batches of 200 rows each).
        var seenBefore = 0
        var cut: [Int] = []
        let merged = (0..<2).map { sink.log($0) }
        for k in 0..<phases {
            var rows = 0
            for log in merged {
                let flushIndexes = log.indices.filter { log[$0] == .flush }
                let end = flushIndexes[k]
                for e in log[..<end] { if case .rows(let r) = e { rows += r.count } }
            }
            cut.append(rows - seenBefore)
            seenBefore = rows
        }
        #expect(cut == Array(repeating: 20 * 200, count: phases))
    }

    @Test func aBarrierLeavesABackPressuredSourceWhileTheSinkIsStuck() throws {
        let splits = try generatedSplits(Self.gen, batchRows: 200, splits: 2)
        let source = GatedSource(splits: splits)
        source.releaseAll()
        let sink = RecordingSink()
        sink.held.store(true, ordering: .releasing)
        let profile = Profile(
            name: "t", parallelism: 1, operatorParallelism: ["source": 1, "f": 1, "sink": 1], channelCapacity: 2)
        let plan = try JobPlanner.plan(
            routedSpec(), profile: profile, parts: .init(source: source, sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        // The sink is held inside a write: the channels fill and the source blocks on a full input.
        try eventually("the source blocks") {
            let s = job.snapshot()
            let filter = s.workers.first { $0.stage == "f" }!
            let sinkWorker = s.workers.first { $0.stage == "sink" }!
            return sink.writesStarted.load(ordering: .acquiring) > 0 && filter.inputFill >= filter.inputCapacity
                && sinkWorker.inputFill >= sinkWorker.inputCapacity
        }
        let readBefore = source.emitted.load(ordering: .acquiring)
        job.injectBarrier(1)
        // Still held: the barrier got out of the source all the same.
        try eventually("the source sent barrier 1") { job.sourcesPassed(barrier: 1) }
        let stillHeld = sink.held.load(ordering: .acquiring)
        #expect(stillHeld)
        #expect(job.barriers.status(1) == .pending)
        sink.held.store(false, ordering: .releasing)
        try job.wait()
        #expect(job.barriers.status(1) == .completed)
        #expect(sink.allRows.count == Self.gen.rows!)
        #expect(Set(sink.allRows).count == Self.gen.rows!)
        #expect(readBefore < source.total)
    }

    @Test func aCancelledBarrierIsDeclinedAndTheNextOneCompletes() throws {
        let splits = try generatedSplits(Self.gen, batchRows: 500, splits: 2)
        let source = GatedSource(splits: splits)
        let sink = RecordingSink()
        sink.held.store(true, ordering: .releasing)
        let plan = try JobPlanner.plan(
            routedSpec(), profile: Profile(name: "t", parallelism: 2, channelCapacity: 2),
            parts: .init(source: source, sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        source.release(4)
        try source.waitUntilEmitted(4)
        job.injectBarrier(1)
        job.cancelBarrier(1)
        job.injectBarrier(2)
        sink.held.store(false, ordering: .releasing)
        source.releaseAll()
        try job.wait()
        #expect(job.barriers.status(1) == .aborted)
        #expect(job.barriers.status(2) == .completed)
        #expect(sink.allRows.count == Self.gen.rows!)
    }
}

/// A stage rescaled at barriers mid-stream gives the same output as an unscaled run: key-group ranges move,
/// state does not, and no window fires twice or is lost.
@Suite struct RescaleAtBarrierTests {
    static let gen = GeneratorSpec(seed: 21, rows: 30_000, keys: 400, skew: 1.1, disorderMs: 0, stepMs: 500, splits: 1)

    func spec(_ window: WindowKind, lateness: Int64 = 0) -> PipelineSpec {
        PipelineSpec(
            name: "rescale", schema: ordersSchema,
            source: SourceSpec(kind: .generator(Self.gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 0)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "w",
                    kind: .window(
                        WindowSpec(
                            kind: window,
                            aggregates: [
                                AggregateSpec(name: "orders", function: .count, field: nil),
                                AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                            ], allowedLatenessMs: lateness))),
            ],
            sink: SinkSpec(kind: .null))
    }

    func run(_ spec: PipelineSpec, steps: [Int]) throws -> (rows: [String], job: Job, barriers: [Int64]) {
        let splits = try generatedSplits(Self.gen, batchRows: 250, splits: 4)
        let source = GatedSource(splits: splits)
        let sink = CollectingSink()
        let profile = Profile(
            name: "t", parallelism: 1, operatorParallelism: ["source": 2, "w": 4, "sink": 2], channelCapacity: 2)
        let plan = try JobPlanner.plan(
            spec, profile: profile, parts: .init(source: source, sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        let share = source.total / (steps.count + 1)
        var released = 0
        var barriers: [Int64] = []
        for p in steps {
            source.release(share)
            released += share
            try source.waitUntilEmitted(released)
            let n = try job.rescale(stage: "w", to: p)
            barriers.append(n)
            #expect(job.barriers.wait(for: n, timeoutMs: 30_000) == .completed)
            #expect(job.parallelism(of: "w") == p)
        }
        source.releaseAll()
        try job.wait()
        return (canonical(sink.all), job, barriers)
    }

    @Test func tumblingWindowsRescaled4To2To3EqualAnUnscaledRun() throws {
        let window = WindowKind.tumbling(sizeMs: 600_000)
        let unscaled = try run(spec(window), steps: [])
        let scaled = try run(spec(window), steps: [2, 3])
        #expect(unscaled.rows.count > 1_000)
        #expect(same(scaled.rows, unscaled.rows))
        for n in scaled.barriers { #expect(scaled.job.rescalePauseNs(barrier: n) != nil) }
        // Retired and added workers both report: 4 + 3 added − none reused = 5 window workers over the run.
        let windowWorkers = scaled.job.snapshot().workers.filter { $0.stage == "w" }
        #expect(windowWorkers.count == 5)
        #expect(windowWorkers.reduce(0) { $0 + $1.rowsIn } == Int64(Self.gen.rows!))
    }

    @Test func slidingWindowsWithLatenessRescaledEqualAnUnscaledRun() throws {
        let window = WindowKind.sliding(sizeMs: 1_800_000, slideMs: 600_000)
        let unscaled = try run(spec(window, lateness: 60_000), steps: [])
        let scaled = try run(spec(window, lateness: 60_000), steps: [1, 3, 2])
        #expect(same(scaled.rows, unscaled.rows))
    }
}

/// Several adjacent stages rescaled at one barrier — a dedupe, a stateless filter and a window, each to its
/// own parallelism — give the same output as an unscaled run: the whole change applies at one cut of the
/// stream, and rows of one key keep their order through stages that change layout together.
@Suite struct RescaleSeveralStagesAtOneBarrierTests {
    static let gen = GeneratorSpec(seed: 33, rows: 24_000, keys: 300, skew: 1.1, disorderMs: 0, stepMs: 500, splits: 1)

    /// source → dedupe by order id → filter → key_by shop → window: three stages that change layout.
    func spec() -> PipelineSpec {
        PipelineSpec(
            name: "rescale-together", schema: ordersSchema,
            source: SourceSpec(kind: .generator(Self.gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 0)),
            operators: [
                OperatorSpec(id: "d", kind: .dedupe(key: ["order_id"], ttlMs: 30 * 86_400_000)),
                OperatorSpec(id: "f", kind: .filter(ExpressionText("amount >= 0"))),
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "w",
                    kind: .window(
                        WindowSpec(
                            kind: .tumbling(sizeMs: 600_000),
                            aggregates: [
                                AggregateSpec(name: "orders", function: .count, field: nil),
                                AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                            ]))),
            ],
            sink: SinkSpec(kind: .null))
    }

    /// Runs the job on every generated batch twice (a second copy of each split), so the dedupe's state
    /// decides what the window counts; `steps` are applied one barrier each.
    func run(steps: [[String: Int]]) throws -> (rows: [String], job: Job, barriers: [Int64]) {
        let once = try generatedSplits(Self.gen, batchRows: 200, splits: 3)
        let source = GatedSource(splits: once + once)
        let sink = CollectingSink()
        let profile = Profile(
            name: "t", parallelism: 1, operatorParallelism: ["source": 2, "d": 2, "f": 2, "w": 3, "sink": 2],
            channelCapacity: 2)
        let plan = try JobPlanner.plan(
            spec(), profile: profile, parts: .init(source: source, sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        let share = source.total / (steps.count + 1)
        var released = 0
        var barriers: [Int64] = []
        for step in steps {
            source.release(share)
            released += share
            try source.waitUntilEmitted(released)
            let changes = step.sorted { $0.key > $1.key }.map { ParallelismChange(stage: $0.key, parallelism: $0.value) }
            let n = try job.rescale(changes)
            barriers.append(n)
            #expect(job.barriers.wait(for: n, timeoutMs: 60_000) == .completed)
            for (stage, p) in step { #expect(job.parallelism(of: stage) == p, "\(stage) after barrier \(n)") }
            #expect(job.rescalePauseNs(barrier: n) != nil)
        }
        source.releaseAll()
        try job.wait()
        return (canonical(sink.all), job, barriers)
    }

    @Test func dedupeFilterAndWindowRescaledTogetherEqualAnUnscaledRun() throws {
        let unscaled = try run(steps: [])
        // Up, down and across: each step moves every stage at once, in different directions.
        let scaled = try run(steps: [["d": 3, "f": 1, "w": 1], ["d": 1, "f": 3, "w": 4], ["d": 2, "f": 2, "w": 2]])
        #expect(unscaled.rows.count > 1_000)
        #expect(same(scaled.rows, unscaled.rows))
        // One barrier per step, each completed: no stage took its change at a barrier of its own.
        #expect(scaled.job.barriers.completed == scaled.barriers)
        #expect(Set(scaled.barriers).count == 3)
        // The dedupe dropped every second copy, before and after each change.
        let passed = scaled.job.snapshot().workers.filter { $0.stage == "f" }.reduce(0) { $0 + $1.rowsIn }
        #expect(passed == Int64(Self.gen.rows!))
    }

    @Test func aStageAlreadyAtItsTargetKeepsItsWorkersWhileTheOthersChange() throws {
        let scaled = try run(steps: [["d": 2, "w": 1], ["d": 4, "f": 2]])
        let unscaled = try run(steps: [])
        #expect(same(scaled.rows, unscaled.rows))
        #expect(scaled.job.barriers.completed == scaled.barriers)
        // `f` never changed: its two first workers are all it ever had.
        #expect(scaled.job.snapshot().workers.filter { $0.stage == "f" }.count == 2)
    }
}

/// Equal row lists; on a difference, reports its size rather than both lists.
func same(_ a: [String], _ b: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Bool {
    guard a != b else { return true }
    let missing = Set(b).subtracting(a).count
    let extra = Set(a).subtracting(b).count
    Issue.record("\(a.count) rows vs \(b.count): \(missing) missing, \(extra) unexpected", sourceLocation: sourceLocation)
    return false
}

/// Knobs that need no barrier apply from the workers' next loop when the live profile is swapped.
@Suite struct LiveProfileTests {
    @Test func batchSizeAndChannelBoundChangeWhileTheJobRuns() throws {
        let gen = GeneratorSpec(seed: 4, rows: 60_000, keys: 10, splits: 1)
        let spec = PipelineSpec(
            name: "live", schema: ordersSchema, source: SourceSpec(kind: .generator(gen)), operators: [],
            sink: SinkSpec(kind: .null))
        let sink = RecordingSink()
        sink.held.store(true, ordering: .releasing)
        let profile = Profile(name: "a", parallelism: 1, batchSize: 1_000, channelCapacity: 2)
        let plan = try JobPlanner.plan(
            spec, profile: profile, parts: .init(source: GeneratorSource(spec: gen), sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        try eventually("the source blocks") {
            job.snapshot().workers.first { $0.stage == "source" }!.backPressuredNs > 0
        }
        #expect(job.snapshot().workers.first { $0.stage == "sink" }!.inputCapacity == 2)
        let readBefore = job.rowsReadTotal
        var next = profile
        next.name = "b"
        next.batchSize = 100
        next.channelCapacity = 8
        job.updateProfile(next)
        #expect(job.snapshot().workers.first { $0.stage == "sink" }!.inputCapacity == 8)
        sink.held.store(false, ordering: .releasing)
        try job.wait()
        let sizes = sink.log(0).compactMap { e -> Int? in if case .rows(let r) = e { r.count } else { nil } }
        #expect(sizes.reduce(0, +) == 60_000)
        // What was read before the swap went in batches of 1,000; everything after in batches of 100.
        #expect(sizes.prefix(readBefore / 1_000).allSatisfy { $0 == 1_000 })
        #expect(sizes.suffix(100).allSatisfy { $0 == 100 })
        #expect(sizes.filter { $0 == 100 }.count >= (60_000 - readBefore - 1_000) / 100)
    }
}
