import Synchronization
import Testing

@testable import StreamCore

/// A clock the test moves by hand.
final class ManualClock: StreamClock {
    let now = Atomic<Int64>(1_000_000)
    func nowMs() -> Int64 { now.load(ordering: .relaxed) }
    func monotonicNs() -> UInt64 { UInt64(nowMs()) * 1_000_000 }
    func advance(ms: Int64) { now.add(ms, ordering: .relaxed) }
}

@Suite struct TTLTests {
    let schema = Schema([Field("shop", .string), Field("amount", .int64)])

    func batch(_ shops: [String]) -> Batch {
        Batch(schema: schema, columns: [Column(strings: shops), Column(int64s: shops.map { _ in 5 })])
    }

    /// Keys with state in `table`, the expiry timers beside them left out.
    func stateKeys(_ table: any KeyedStateTable) throws -> Int {
        var n = 0
        try table.scan(keyGroups: 0..<128) { (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
            if StateKey.namespace(of: k) == KeyTimers.stateNamespace { n += 1 }
            return true
        }
        return n
    }

    @Test func aKeyIdleLongerThanTheTTLStartsOverAndIsSweptFromState() throws {
        let clock = ManualClock()
        let table = try MemoryStateBackend().table(named: "agg")
        let op = RunningAggregateOperator(
            key: KeyColumns(indices: [0], schema: schema),
            aggregates: [
                try BoundAggregate(AggregateSpec(name: "total", function: .sum, field: "amount"), schema: schema)
            ],
            table: table, keyGroups: KeyGroups(), ownedKeyGroups: 0..<128, ttlMs: 60_000, timeIndex: nil, clock: clock)
        #expect(try stateKeys(table) == 0)
        var out = Output()
        try op.process(batch(["a", "a", "b"]), into: &out)
        clock.advance(ms: 30_000)
        try op.process(batch(["a"]), into: &out)
        #expect(out.batches.last?.rows().first == [.string("a"), .int64(15)])
        // b was last updated 61 s ago, a 31 s ago: the sweep removes only b.
        clock.advance(ms: 31_000)
        try op.onWatermark(0, into: &out)
        #expect(try stateKeys(table) == 1)
        // a, idle for 61 s, starts over.
        clock.advance(ms: 30_000)
        try op.process(batch(["a"]), into: &out)
        #expect(out.batches.last?.rows().first == [.string("a"), .int64(5)])
    }
}
