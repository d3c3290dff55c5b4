import Synchronization
import Testing

@testable import StreamCore
@testable import StreamState

/// Keeps every row a job emits.
final class RowsSink: SinkConnector, Sendable {
    let rows = Mutex<[[Value]]>([])
    func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter { Writer(sink: self) }
    final class Writer: SinkWriter {
        let sink: RowsSink
        init(sink: RowsSink) { self.sink = sink }
        func write(_ batch: Batch) throws(StreamError) {
            let r = batch.rows()
            sink.rows.withLock { $0.append(contentsOf: r) }
        }
    }
}

@Suite struct WindowStateTests {
    static let gen = GeneratorSpec(
        seed: 77, rows: 30_000, keys: 200, skew: 1.1, disorderMs: 3_000, stepMs: 250, splits: 4)

    static let spec = PipelineSpec(
        name: "orders", schema: Schema(GeneratorSource.fields),
        source: SourceSpec(kind: .generator(gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 3_000)),
        operators: [
            OperatorSpec(id: "key", kind: .keyBy(["shop"])),
            OperatorSpec(
                id: "hourly",
                kind: .window(
                    WindowSpec(
                        kind: .tumbling(sizeMs: 3_600_000),
                        aggregates: [
                            AggregateSpec(name: "orders", function: .count, field: nil),
                            AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                            AggregateSpec(name: "biggest", function: .max, field: "amount"),
                        ]))),
        ], sink: SinkSpec(kind: .null))

    func run(state: any KeyedStateBackend, parallelism: Int) throws -> [String] {
        let sink = RowsSink()
        let plan = try JobPlanner.plan(
            Self.spec, profile: Profile(name: "t", parallelism: parallelism, batchSize: 700),
            parts: .init(source: GeneratorSource(spec: Self.gen), sink: sink, state: state))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail), state: state)
        try job.start()
        try job.wait()
        return sink.rows.withLock { $0 }.map { $0.map(\.description).joined(separator: "|") }.sorted()
    }

    @Test(arguments: [1, 4])
    func rocksDBAndMemoryBackendsGiveTheSameWindows(parallelism: Int) throws {
        let dir = TempDirectory()
        let rocks = try RocksStateBackend(spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 64 << 20))
        let fromRocks = try run(state: rocks, parallelism: parallelism)
        let fromMemory = try run(state: MemoryStateBackend(), parallelism: parallelism)
        #expect(fromRocks.count > 200)
        #expect(fromRocks == fromMemory)
        // Every window fired at the end of input, and fired windows leave nothing behind.
        var left = 0
        try rocks.table(named: "hourly").scan(keyGroups: 0..<128) {
            (_: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
            left += 1
            return true
        }
        #expect(left == 0)
        try rocks.close()
    }

    @Test func firedWindowsAreDeletedFromRocksDBWhileOpenOnesStay() throws {
        let dir = TempDirectory()
        let rocks = try RocksStateBackend(spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 32 << 20))
        let schema = Schema([Field("shop", .string), Field("ts", .timestamp)])
        let groups = KeyGroups()
        let table = try rocks.table(named: "w")
        let op = try WindowOperator(
            key: KeyColumns(indices: [0], schema: schema), timeIndex: 1, kind: .tumbling(sizeMs: 60_000),
            aggregates: [try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: schema)],
            table: table, keyGroups: groups, ownedKeyGroups: 0..<128, allowedLatenessMs: 0)
        // 50 shops in the first minute, 30 of them again in the second.
        let shops = (0..<50).map { "s\($0)" } + (0..<30).map { "s\($0)" }
        let times = (0..<50).map { _ in Int64(1_000) } + (0..<30).map { _ in Int64(61_000) }
        let batch = Batch(schema: schema, columns: [Column(strings: shops), Column(int64s: times, type: .timestamp)])
        var out = Output()
        try op.process(batch, into: &out)
        func stored() throws -> Int {
            var n = 0
            try table.scan(keyGroups: 0..<128) { (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
                // Window entries only, not the timers beside them.
                if StateKey.namespace(of: k) != WindowTimers.namespace { n += 1 }
                return true
            }
            return n
        }
        #expect(try stored() == 80)
        try op.onWatermark(60_000, into: &out)
        #expect(out.batches.reduce(0) { $0 + $1.count } == 50)
        #expect(try stored() == 30)
        try op.finish(into: &out)
        #expect(try stored() == 0)
        try rocks.close()
    }

    /// Without a write-back buffer every batch reaches the table; with one, the barrier before the stop does.
    @Test(arguments: [0, 1 << 20])
    func openWindowsSurviveARestartAndFireAfterIt(bufferBytes: Int) throws {
        let dir = TempDirectory()
        let spec = StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 32 << 20)
        let schema = Schema([Field("shop", .string), Field("ts", .timestamp)])
        let aggs = [try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: schema)]
        func makeOperator(_ backend: RocksStateBackend) throws -> WindowOperator {
            try WindowOperator(
                key: KeyColumns(indices: [0], schema: schema), timeIndex: 1, kind: .tumbling(sizeMs: 60_000),
                aggregates: aggs, table: try backend.table(named: "w"), keyGroups: KeyGroups(),
                ownedKeyGroups: 0..<128, allowedLatenessMs: 0, cacheBytes: bufferBytes)
        }
        var out = Output()
        do {
            let first = try RocksStateBackend(spec: spec)
            let op = try makeOperator(first)
            try op.process(
                Batch(
                    schema: schema,
                    columns: [
                        Column(strings: ["a", "a", "b"]),
                        Column(int64s: [1, 2, 3], type: .timestamp),
                    ]), into: &out)
            try op.onBarrier(Barrier(id: 1), into: &out)
            try first.close()
        }
        let second = try RocksStateBackend(spec: spec)
        let op = try makeOperator(second)
        try op.process(
            Batch(schema: schema, columns: [Column(strings: ["a"]), Column(int64s: [4], type: .timestamp)]), into: &out)
        try op.onWatermark(59_999, into: &out)
        let rows = out.batches.flatMap { $0.rows() }.map { $0.map(\.description).joined(separator: "|") }.sorted()
        #expect(rows == ["a|0|60000|3", "b|0|60000|1"])
        try second.close()
    }
}
