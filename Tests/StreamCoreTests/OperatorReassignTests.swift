import Testing

@testable import StreamCore

/// Every keyed operator rescaled at barriers (4 → 2 → 3 workers sharing one state table, each handed a
/// new key-group range with `reassign`) emits exactly what one unscaled worker emits on the same input.
@Suite struct OperatorReassignTests {
    static let schema = Schema([Field("shop", .string), Field("ts", .timestamp), Field("amount", .int64)])
    static let groups = KeyGroups()
    static let key = KeyColumns(indices: [0], schema: schema)

    /// Six phases of three batches each (60 shops, times rising by ~1 s per row with up to 3 s of
    /// disorder, every tenth shop's rows arriving late by a minute), each phase ending with a watermark.
    static func phases() -> [(batches: [Batch], watermark: Int64)] {
        var random: UInt64 = 42
        func next() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 33
        }
        var t: Int64 = 0
        return (0..<6).map { _ in
            let batches = (0..<3).map { _ in
                var shops: [String] = []
                var times: [Int64] = []
                var amounts: [Int64] = []
                for _ in 0..<200 {
                    t += 1_000
                    let shop = Int(next() % 60)
                    shops.append("s\(shop)")
                    times.append(t - Int64(next() % 3_000) - (shop % 10 == 0 ? 60_000 : 0))
                    amounts.append(Int64(next() % 1_000))
                }
                return Batch(
                    schema: schema,
                    columns: [Column(strings: shops), Column(int64s: times, type: .timestamp), Column(int64s: amounts)])
            }
            return (batches, t - 3_000)
        }
    }

    /// Runs `phases` with `parallelisms[i]` workers in phase i; rows reach the worker owning their key group.
    static func run(
        parallelisms: [Int],
        _ make: (_ table: any KeyedStateTable, _ range: Range<Int>) throws -> any KeyedStreamOperator
    ) throws -> [String] {
        let table = try MemoryStateBackend().table(named: "op")
        var ops: [any KeyedStreamOperator] = []
        var out = Output()
        var watermark = Int64.min
        for (phase, (batches, wm)) in phases().enumerated() {
            // The barrier (each worker's `onBarrier`, then the rescale): keep the first workers with new
            // ranges, drop or add the rest.
            for op in ops { try op.onBarrier(Barrier(id: Int64(phase)), into: &out) }
            let p = parallelisms[phase]
            if ops.count > p { ops.removeLast(ops.count - p) }
            for w in ops.indices { try ops[w].reassign(keyGroups: groups.range(worker: w, parallelism: p)) }
            while ops.count < p {
                let op = try make(table, groups.range(worker: ops.count, parallelism: p))
                if watermark != .min { try op.onWatermark(watermark, into: &out) }
                ops.append(op)
            }
            for batch in batches {
                let hashes = key.hashes(batch)
                var rowsOf = [[Int]](repeating: [], count: p)
                for row in 0..<batch.count {
                    rowsOf[groups.worker(owning: groups.keyGroup(hash: hashes[row]), parallelism: p)].append(row)
                }
                for w in 0..<p where !rowsOf[w].isEmpty { try ops[w].process(batch.gather(rowsOf[w]), into: &out) }
            }
            watermark = wm
            for op in ops { try op.onWatermark(wm, into: &out) }
        }
        for op in ops { try op.finish(into: &out) }
        return out.batches.flatMap { $0.rows() }.map { $0.map(\.description).joined(separator: "|") }.sorted()
    }

    static func expectSameOutputRescaled(
        _ make: (any KeyedStateTable, Range<Int>) throws -> any KeyedStreamOperator
    ) throws {
        let unscaled = try run(parallelisms: [1, 1, 1, 1, 1, 1], make)
        let rescaled = try run(parallelisms: [4, 4, 2, 2, 3, 3], make)
        #expect(unscaled.count > 100)
        #expect(rescaled == unscaled)
    }

    static func aggregates() throws -> [BoundAggregate] {
        [
            try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: schema),
            try BoundAggregate(AggregateSpec(name: "total", function: .sum, field: "amount"), schema: schema),
        ]
    }

    /// With and without allowed lateness; without a write-back buffer, with one flushed at the barrier,
    /// and with one so small that it evicts windows all the time.
    @Test(arguments: [(Int64(0), 0), (120_000, 0), (0, 1 << 20), (120_000, 1 << 20), (0, 4_096), (120_000, 4_096)])
    func tumblingWindowsGiveTheSameOutputRescaled(latenessMs: Int64, bufferBytes: Int) throws {
        let aggs = try Self.aggregates()
        try Self.expectSameOutputRescaled { table, range in
            try WindowOperator(
                key: Self.key, timeIndex: 1, kind: .tumbling(sizeMs: 60_000), aggregates: aggs, table: table,
                keyGroups: Self.groups, ownedKeyGroups: range, allowedLatenessMs: latenessMs, cacheBytes: bufferBytes)
        }
    }

    @Test func slidingWindowsGiveTheSameOutputRescaled() throws {
        let aggs = try Self.aggregates()
        try Self.expectSameOutputRescaled { table, range in
            try WindowOperator(
                key: Self.key, timeIndex: 1, kind: .sliding(sizeMs: 120_000, slideMs: 30_000), aggregates: aggs,
                table: table, keyGroups: Self.groups, ownedKeyGroups: range, allowedLatenessMs: 0)
        }
    }

    @Test func sessionWindowsGiveTheSameOutputRescaled() throws {
        let aggs = try Self.aggregates()
        try Self.expectSameOutputRescaled { table, range in
            try SessionWindowOperator(
                key: Self.key, timeIndex: 1, gapMs: 20_000, aggregates: aggs, table: table, keyGroups: Self.groups,
                ownedKeyGroups: range, allowedLatenessMs: 0)
        }
    }

    @Test func runningAggregateGivesTheSameOutputRescaled() throws {
        let aggs = try Self.aggregates()
        let clock = ManualClock()
        try Self.expectSameOutputRescaled { table, range in
            RunningAggregateOperator(
                key: Self.key, aggregates: aggs, table: table, keyGroups: Self.groups, ownedKeyGroups: range,
                ttlMs: 3_600_000, timeIndex: 1, clock: clock)
        }
    }

    @Test func dedupeGivesTheSameOutputRescaled() throws {
        let clock = ManualClock()
        try Self.expectSameOutputRescaled { table, range in
            DedupeOperator(
                key: Self.key, schema: Self.schema, table: table, keyGroups: Self.groups, ownedKeyGroups: range,
                ttlMs: 30_000, timeIndex: 1, clock: clock)
        }
    }
}
