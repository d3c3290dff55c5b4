import Testing

@testable import StreamCore
@testable import StreamState

/// The orders workload users run (many shops with Zipf skew, seconds of disorder, hourly windows), small:
/// both state backends, several parallelisms, against a plain computation; and what a firing costs.
@Suite struct OrdersWorkloadTests {
    /// 10,000 shops, Zipf 1.1, one order per 1,037 ms (30 days at 2.5M rows), up to 5 s of disorder.
    static func workload(rows: Int) -> GeneratorSpec {
        GeneratorSpec(
            seed: 15, rows: rows, keys: 10_000, skew: 1.1, disorderMs: 5_000, startTime: 1_790_000_000_000,
            stepMs: 1_037, splits: 4)
    }

    static let hour: Int64 = 3_600_000

    static func spec(_ gen: GeneratorSpec) -> PipelineSpec {
        PipelineSpec(
            name: "orders", schema: Schema(GeneratorSource.fields),
            source: SourceSpec(kind: .generator(gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 5_000)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "hourly",
                    kind: .window(
                        WindowSpec(
                            kind: .tumbling(sizeMs: hour),
                            aggregates: [
                                AggregateSpec(name: "orders", function: .count, field: nil),
                                AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                            ]))),
            ], sink: SinkSpec(kind: .null))
    }

    static func run(_ gen: GeneratorSpec, state: any KeyedStateBackend, parallelism: Int) throws -> [String] {
        let sink = RowsSink()
        let plan = try JobPlanner.plan(
            spec(gen), profile: Profile(name: "t", parallelism: parallelism, batchSize: 1_000),
            parts: .init(source: GeneratorSource(spec: gen), sink: sink, state: state))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail), state: state)
        try job.start()
        try job.wait()
        return sink.rows.withLock { $0 }.map { $0.map(\.description).joined(separator: "|") }.sorted()
    }

    /// Hourly count and revenue per shop by a plain loop over the generated rows.
    static func reference(_ gen: GeneratorSpec) -> [String] {
        let source = GeneratorSource(spec: gen)
        var groups: [String: (count: Int, cents: Int64)] = [:]
        for i in 0..<gen.rows! {
            let r = source.row(i)
            let end = floorDiv(r.ts, hour) * hour + hour
            groups["shop-\(r.shop)|\(end - hour)|\(end)", default: (0, 0)].count += 1
            groups["shop-\(r.shop)|\(end - hour)|\(end)", default: (0, 0)].cents += r.cents
        }
        return groups.map { "\($0.key)|\($0.value.count)|\(DecimalFormat.string($0.value.cents, scale: 2))" }.sorted()
    }

    @Test func rocksDBAndMemoryGiveThePlainComputationsWindowsAtParallelism1And2And4() throws {
        let gen = Self.workload(rows: 40_000)
        let expected = Self.reference(gen)
        #expect(expected.count > 10_000)
        for parallelism in [1, 2, 4] {
            let dir = TempDirectory()
            let rocks = try RocksStateBackend(
                spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 64 << 20))
            let fromRocks = try Self.run(gen, state: rocks, parallelism: parallelism)
            try rocks.close()
            let fromMemory = try Self.run(gen, state: MemoryStateBackend(), parallelism: parallelism)
            #expect(fromRocks == expected, "RocksDB, parallelism \(parallelism)")
            #expect(fromMemory == expected, "memory, parallelism \(parallelism)")
        }
    }

    /// `hours` of hourly windows over 10,000 keys, each hour's rows in shuffled batches, the watermark
    /// passing each hour's end after it: the entries visited per fired (key, window), and the rows fired.
    static func firingCost(hours: Int, backend: any KeyedStateBackend) throws -> (perRow: Double, rows: Int64) {
        let keys = 10_000
        let schema = Schema([Field("shop", .string), Field("ts", .timestamp)])
        let op = try WindowOperator(
            key: KeyColumns(indices: [0], schema: schema), timeIndex: 1, kind: .tumbling(sizeMs: hour),
            aggregates: [try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: schema)],
            table: try backend.table(named: "hourly"), keyGroups: KeyGroups(), ownedKeyGroups: 0..<128,
            allowedLatenessMs: 0)
        let names = (0..<keys).map { "shop-\($0)" }
        var out = Output()
        for h in 0..<hours {
            let base = Int64(h) * hour
            // A fixed permutation per hour: key i at position (i * 7919 + h) % keys.
            let order = (0..<keys).map { (($0 * 7_919) + h) % keys }
            for chunk in stride(from: 0, to: keys, by: 2_000) {
                let rows = order[chunk..<min(keys, chunk + 2_000)]
                let batch = Batch(
                    schema: schema,
                    columns: [
                        Column(strings: rows.map { names[$0] }),
                        Column(int64s: rows.map { base + Int64($0) * 300 }, type: .timestamp),
                    ])
                try op.process(batch, into: &out)
            }
            try op.onWatermark(base + hour - 1, into: &out)
            _ = out.take()
        }
        let m = op.metrics()
        let fired = m["fire_rows"]!
        return (Double(m["fire_entries_visited"]!) / Double(fired), fired)
    }

    @Test(arguments: [true, false])
    func aFiringVisitsNoMoreEntriesPerFiredWindowAfter100HoursThanAfter10(rocks: Bool) throws {
        do {
            func backend(_ dir: TempDirectory) throws -> any KeyedStateBackend {
                rocks
                    ? try RocksStateBackend(
                        spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 64 << 20))
                    : MemoryStateBackend()
            }
            let dir10 = TempDirectory()
            let short = try Self.firingCost(hours: 10, backend: try backend(dir10))
            let dir100 = TempDirectory()
            let long = try Self.firingCost(hours: 100, backend: try backend(dir100))
            #expect(short.rows == 10 * 10_000)
            #expect(long.rows == 100 * 10_000)
            #expect(short.perRow <= 2.01, "rocksdb: \(rocks)")
            #expect(
                long.perRow <= short.perRow + 0.001, "rocksdb: \(rocks), 10 h \(short.perRow), 100 h \(long.perRow)")
        }
    }
}
