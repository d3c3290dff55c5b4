import Synchronization
import Testing

@testable import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct BackPressureTests {
    @Test func aStuckSinkThrottlesTheSourceWithoutLosingRows() throws {
        let rows = 60_000
        let gen = GeneratorSpec(seed: 1, rows: rows, keys: 50, splits: 2)
        let spec = PipelineSpec(
            name: "bp", schema: ordersSchema, source: SourceSpec(kind: .generator(gen)), operators: [],
            sink: SinkSpec(kind: .null))
        // Held inside its first write: everything behind it fills, then the source blocks.
        let sink = RecordingSink()
        sink.held.store(true, ordering: .releasing)
        let profile = Profile(name: "t", parallelism: 1, batchSize: 500, channelCapacity: 2)
        let plan = try JobPlanner.plan(
            spec, profile: profile,
            parts: .init(source: GeneratorSource(spec: gen), sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        try eventually("the source blocks on the full sink input") {
            usleep(1_000)
            return job.snapshot().workers.first { $0.stage == "source" }!.backPressuredNs > 0
                && sink.writesStarted.load(ordering: .acquiring) == 1
        }
        // Rows read but not written: at most the sink's queue (2 batches), the batch it holds and the one
        // the source is sending.
        let inFlight = job.rowsReadTotal - sink.allRows.count
        #expect(inFlight <= (2 + 1 + 1) * 500)
        #expect(job.rowsReadTotal < rows)
        sink.held.store(false, ordering: .releasing)
        try job.wait()
        #expect(sink.allRows.count == rows)
        #expect(Set(sink.allRows).count == rows)
    }
}

@Suite struct OperatorTests {
    func run(_ ops: [OperatorSpec], rows: Int = 5_000, parallelism: Int = 2, schema: Schema = ordersSchema) throws
        -> [[Value]]
    {
        let gen = GeneratorSpec(seed: 11, rows: rows, keys: 10, disorderMs: 0, stepMs: 100, splits: 2)
        let spec = PipelineSpec(
            name: "ops", schema: schema,
            source: SourceSpec(kind: .generator(gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 0)),
            operators: ops, sink: SinkSpec(kind: .null))
        return try runToCompletion(spec, parallelism: parallelism).rows
    }

    @Test func runningAggregateEmitsEveryKeysLatestTotal() throws {
        let rows = try run([
            OperatorSpec(id: "k", kind: .keyBy(["shop"])),
            OperatorSpec(
                id: "agg",
                kind: .runningAggregate(
                    aggregates: [
                        AggregateSpec(name: "n", function: .count, field: nil),
                        AggregateSpec(name: "total", function: .sum, field: "amount"),
                    ], ttlMs: nil)),
        ])
        // The largest count emitted per shop is its final total.
        var final: [String: (Int64, String)] = [:]
        for r in rows {
            guard case .int64(let n) = r[1] else { continue }
            if n > (final[r[0].description]?.0 ?? -1) { final[r[0].description] = (n, r[2].description) }
        }
        let source = GeneratorSource(
            spec: GeneratorSpec(seed: 11, rows: 5_000, keys: 10, disorderMs: 0, stepMs: 100, splits: 2))
        var expected: [String: (Int64, Int64)] = [:]
        for i in 0..<5_000 {
            let r = source.row(i)
            let e = expected["shop-\(r.shop)"] ?? (0, 0)
            expected["shop-\(r.shop)"] = (e.0 + 1, e.1 + r.cents)
        }
        #expect(final.count == expected.count)
        for (shop, e) in expected {
            #expect(final[shop]?.0 == e.0)
            #expect(final[shop]?.1 == DecimalFormat.string(e.1, scale: 2))
        }
    }

    @Test func dedupeKeepsOneRowPerKeyWithinTheTTL() throws {
        // 5000 rows at 100 ms steps over 10 shops: with a TTL of 10 minutes, each shop is kept once per
        // 10 minutes of its own event time at most.
        let rows = try run([OperatorSpec(id: "d", kind: .dedupe(key: ["shop"], ttlMs: 600_000))])
        let byShop = Dictionary(grouping: rows) { $0[1].description }
        #expect(byShop.count == 10)
        for (_, list) in byShop {
            let times = list.compactMap { r -> Int64? in if case .timestamp(let t) = r[4] { t } else { nil } }.sorted()
            for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 600_000) }
        }
        // 500 s of event time per 10 minutes: exactly one row per shop.
        #expect(rows.count == 10)
    }

    @Test func filterAndSelectShapeTheRows() throws {
        let rows = try run(
            [
                OperatorSpec(id: "f", kind: .filter(ExpressionText("order_id % 4 = 1"))),
                OperatorSpec(
                    id: "s",
                    kind: .map(
                        fields: [
                            (name: "shop", expression: ExpressionText("shop")),
                            (name: "id", expression: ExpressionText("order_id")),
                        ], keep: false)),
            ], rows: 100)
        // The generator numbers orders 0..<100: the filter keeps ids 1, 5, 9, …, 97.
        let ids = rows.compactMap { r -> Int64? in if case .int64(let v) = r[1] { v } else { nil } }.sorted()
        #expect(ids == Array(stride(from: Int64(1), to: 100, by: 4)))
        #expect(rows.allSatisfy { $0.count == 2 })
    }
}

@Suite struct WatermarkTests {
    @Test func operatorWatermarkIsTheMinimumOverLiveInputs() {
        var w = InputWatermarks(inputs: 2)
        #expect(w.update(input: 0, watermark: 100) == nil)
        #expect(w.update(input: 1, watermark: 50) == 50)
        #expect(w.update(input: 1, watermark: 200) == 100)
        #expect(w.end(input: 0) == 200)
    }

    @Test func aSplitHoldsTheWatermarkUntilItIsIdleAtItsEndForTheTimeout() {
        var s = SplitWatermarks(maxDisorderMs: 5, idleTimeoutMs: 1_000)
        s.record(SplitProgress(split: 0, maxEventTime: 1_000), nowNs: 0)
        s.record(SplitProgress(split: 1, maxEventTime: 100, atEnd: true), nowNs: 0)
        #expect(s.advance(nowNs: 0) == 95)
        // Paused or unfetched (not at end): still holds, however long.
        s.record(SplitProgress(split: 1, atEnd: false), nowNs: 5_000_000_000)
        #expect(s.advance(nowNs: 5_000_000_000) == nil)
        // At its end for longer than the idle timeout: stops holding.
        s.record(SplitProgress(split: 1, atEnd: true), nowNs: 5_000_000_000)
        #expect(s.advance(nowNs: 6_500_000_000) == 995)
    }

    @Test func aFinishedSplitNoLongerHoldsTheWatermark() {
        var s = SplitWatermarks(maxDisorderMs: 0, idleTimeoutMs: 60_000)
        s.record(SplitProgress(split: 0, maxEventTime: 10, finished: true), nowNs: 0)
        s.record(SplitProgress(split: 1, maxEventTime: 500), nowNs: 0)
        #expect(s.advance(nowNs: 1) == 500)
    }
}

@Suite struct MetricsSnapshotTests {
    @Test func everyWorkerReportsRowsAndTimeThatAddUp() throws {
        let gen = GeneratorSpec(seed: 2, rows: 40_000, keys: 30, splits: 2)
        let spec = PipelineSpec(
            name: "m", schema: ordersSchema, source: SourceSpec(kind: .generator(gen)),
            operators: [
                OperatorSpec(id: "k", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "agg",
                    kind: .runningAggregate(
                        aggregates: [
                            AggregateSpec(name: "n", function: .count, field: nil)
                        ], ttlMs: nil)),
            ],
            sink: SinkSpec(kind: .null))
        // The sink is held inside its first write until the test has seen the stage before it blocked on a
        // full input: back pressure is then certain, whatever the speed of the threads.
        let sink = RecordingSink()
        sink.held.store(true, ordering: .releasing)
        let plan = try JobPlanner.plan(
            spec, profile: Profile(name: "t", parallelism: 2, batchSize: 1000, channelCapacity: 2),
            parts: .init(source: GeneratorSource(spec: gen), sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        let before = job.snapshot()
        try job.start()
        // Every aggregate worker blocked on its full sink input (blocked time is accounted while it lasts).
        try eventually("the aggregate blocks") {
            usleep(1_000)
            let s = job.snapshot()
            return s.workers.filter { $0.stage == "agg" }.allSatisfy { $0.backPressuredNs > 0 }
        }
        sink.held.store(false, ordering: .releasing)
        try job.wait()
        let after = job.snapshot()
        let byStage = Dictionary(grouping: after.workers, by: \.stage)
        #expect(byStage["source"]?.count == 2)
        #expect(byStage["agg"]?.count == 2)
        #expect(byStage["sink"]?.count == 2)
        #expect(byStage["source"]!.reduce(0) { $0 + $1.rowsOut } == 40_000)
        #expect(byStage["agg"]!.reduce(0) { $0 + $1.rowsIn } == 40_000)
        #expect(byStage["sink"]!.reduce(0) { $0 + $1.rowsIn } == byStage["agg"]!.reduce(0) { $0 + $1.rowsOut })
        #expect(byStage["agg"]!.reduce(0) { $0 + $1.backPressuredNs } > 0)
        let rates = after.rates(since: before)
        #expect(rates.count == 6)
        for r in rates {
            // Busy, idle and blocked time of one thread cannot exceed the wall time.
            #expect(r.busyMsPerSecond + r.idleMsPerSecond + r.backPressuredMsPerSecond <= 1_050)
            // Two inputs of capacity 2 per worker after the source.
            #expect(r.inputCapacity == (r.stage == "source" ? 0 : 4))
        }
    }
}
