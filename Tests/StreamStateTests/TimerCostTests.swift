import Testing

@testable import StreamCore
@testable import StreamState

/// Dedupe expiry, running-aggregate TTL and session firing read their timers and the keys those name,
/// not the state held: entries visited per key expired or session fired stay flat as the run grows.
@Suite struct TimerCostTests {
    static let schema = Schema([Field("shop", .string), Field("ts", .timestamp), Field("amount", .int64)])
    static let key = KeyColumns(indices: [0], schema: schema)
    static let hour: Int64 = 3_600_000

    /// `hours` hours, each with one row per key (2,000 keys), the watermark passing each hour's end.
    static func drive(_ op: any StreamOperator, hours: Int, clock: ManualTestClock? = nil) throws {
        let names = (0..<2_000).map { "shop-\($0)" }
        var out = Output()
        for h in 0..<hours {
            let base = Int64(h) * hour
            let batch = Batch(
                schema: schema,
                columns: [
                    Column(strings: names),
                    Column(int64s: names.indices.map { base + Int64($0) * 1_000 }, type: .timestamp),
                    Column(int64s: names.map { _ in 1 }),
                ])
            try op.process(batch, into: &out)
            clock?.advance(ms: hour)
            try op.onWatermark(base + hour, into: &out)
            _ = out.take()
        }
    }

    static func rocks(_ dir: TempDirectory) throws -> RocksStateBackend {
        try RocksStateBackend(spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 64 << 20))
    }

    /// Entries visited per unit fired (`perHour` at least), for a short and a long run.
    static func costs(
        _ make: (any KeyedStateTable, ManualTestClock) throws -> any StreamOperator, unit: String, perHour: Int
    ) throws -> (short: Double, long: Double) {
        var result: [Double] = []
        for hours in [5, 40] {
            let dir = TempDirectory()
            let backend = try rocks(dir)
            let clock = ManualTestClock()
            let op = try make(try backend.table(named: "op"), clock)
            try drive(op, hours: hours, clock: clock)
            let m = op.metrics()
            #expect(m[unit]! >= Int64(perHour * (hours - 2)), "\(unit) after \(hours) h")
            result.append(Double(m["timer_entries_visited"]!) / Double(m[unit]!))
            try backend.close()
        }
        return (result[0], result[1])
    }

    @Test func dedupeExpiryVisitsWhatExpires() throws {
        let c = try Self.costs(
            { table, clock in
                DedupeOperator(
                    key: Self.key, schema: Self.schema, table: table, keyGroups: KeyGroups(), ownedKeyGroups: 0..<128,
                    ttlMs: Self.hour / 2, timeIndex: 1, clock: clock)
            }, unit: "keys_expired", perHour: 1_700)
        // A timer entry and the key it names per key expired, and the few timers of keys kept again since.
        #expect(c.short <= 2.5)
        #expect(c.long <= c.short + 0.05, "5 h \(c.short), 40 h \(c.long)")
    }

    @Test func runningAggregateTTLVisitsWhatExpires() throws {
        let aggs = [try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: Self.schema)]
        // Half the keys each hour: the other half idles past the 90-minute TTL and expires.
        let c = try Self.costs(
            { table, clock in
                EveryOtherHour(
                    RunningAggregateOperator(
                        key: Self.key, aggregates: aggs, table: table, keyGroups: KeyGroups(),
                        ownedKeyGroups: 0..<128, ttlMs: 90 * 60_000, timeIndex: 1, clock: clock))
            }, unit: "keys_expired", perHour: 500)
        // Timers of keys updated since they were set are read too: those of the busy half.
        #expect(c.short <= 8.1)
        #expect(c.long <= c.short + 0.05, "5 h \(c.short), 40 h \(c.long)")
    }

    @Test func sessionFiringVisitsWhatFires() throws {
        let aggs = [try BoundAggregate(AggregateSpec(name: "n", function: .count, field: nil), schema: Self.schema)]
        let c = try Self.costs(
            { table, _ in
                try SessionWindowOperator(
                    key: Self.key, timeIndex: 1, gapMs: 10 * 60_000, aggregates: aggs, table: table,
                    keyGroups: KeyGroups(), ownedKeyGroups: 0..<128, allowedLatenessMs: 0)
            }, unit: "sessions_fired", perHour: 2_000)
        #expect(c.short <= 2.1)
        #expect(c.long <= c.short + 0.05, "5 h \(c.short), 40 h \(c.long)")
    }
}

/// Passes only the rows of even-numbered shops in odd hours (and all rows in even hours), so that keys idle.
final class EveryOtherHour: StreamOperator {
    let inner: RunningAggregateOperator
    var hour = 0
    init(_ inner: RunningAggregateOperator) { self.inner = inner }
    var outputSchema: Schema { inner.outputSchema }
    func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        defer { hour += 1 }
        if hour % 2 == 0 { return try inner.process(batch, into: &out) }
        try inner.process(batch.gather(Array(stride(from: 0, to: batch.count, by: 2))), into: &out)
    }
    func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        try inner.onWatermark(watermark, into: &out)
    }
    func metrics() -> [String: Int64] { inner.metrics() }
}

/// A clock moved by hand.
final class ManualTestClock: StreamClock, @unchecked Sendable {
    private var now: Int64 = 1_000_000
    func nowMs() -> Int64 { now }
    func monotonicNs() -> UInt64 { UInt64(now) * 1_000_000 }
    func advance(ms: Int64) { now += ms }
}
