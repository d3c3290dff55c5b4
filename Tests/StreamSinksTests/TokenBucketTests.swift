import StreamCore
import StreamSinks
import Testing

@Suite struct TokenBucketTests {
    func bucket(records: Int?, bytes: Int64?, clock: ManualClock) -> TokenBucket {
        TokenBucket(recordsPerSecond: records, bytesPerSecond: bytes, clock: clock) { clock.sleep(nanoseconds: $0) }
    }

    @Test func aLiveProfileChangeRetunesTheRateAndKeepsTheThrottledTime() {
        let clock = ManualClock()
        var b = bucket(records: 1_000, bytes: nil, clock: clock)
        for _ in 0..<20 { b.acquire(records: 100, bytes: 0) }
        let before = b.throttledMs
        #expect(before >= 999 && before <= 1_001)
        // Two workers share 4,000/s: 2,000/s each, so the next 2,000 records take one more second.
        b.retune(profile: Profile(name: "seasonal", sinkRecordsPerSecond: 4_000), workers: 2)
        #expect(b.recordsPerSecond == 2_000)
        for _ in 0..<20 { b.acquire(records: 100, bytes: 0) }
        #expect(b.throttledMs >= before + 999 && b.throttledMs <= before + 1_001)
        b.retune(profile: Profile(name: "backfill"), workers: 2)
        #expect(b.isUnlimited)
    }

    @Test func unlimitedBucketNeverWaits() {
        let clock = ManualClock()
        var b = bucket(records: nil, bytes: nil, clock: clock)
        for _ in 0..<100 { b.acquire(records: 1_000_000, bytes: 1 << 30) }
        #expect(b.throttledMs == 0)
        #expect(clock.monotonicNs() == 1_000_000_000)
    }

    @Test func recordRateLimitsThroughputAfterTheBurst() {
        let clock = ManualClock()
        var b = bucket(records: 1_000, bytes: nil, clock: clock)
        let start = clock.monotonicNs()
        for _ in 0..<50 { b.acquire(records: 100, bytes: 0) }
        let elapsedMs = Int64((clock.monotonicNs() - start) / 1_000_000)
        // 5000 records at 1000/s with a one-second burst: four seconds of waiting.
        #expect(elapsedMs >= 3_999 && elapsedMs <= 4_001)
        #expect(b.throttledMs >= 3_999 && b.throttledMs <= 4_001)
    }

    @Test func byteRateAppliesAndOversizedRequestsWaitOffTheirDebt() {
        let clock = ManualClock()
        var b = bucket(records: 1_000_000, bytes: 1_000, clock: clock)
        b.acquire(records: 1, bytes: 3_000)
        #expect(b.throttledMs >= 1_999 && b.throttledMs <= 2_001)
        b.acquire(records: 1, bytes: 500)
        #expect(b.throttledMs >= 2_499 && b.throttledMs <= 2_501)
    }

    @Test func idleTimeRefillsUpToOneSecondOfTokens() {
        let clock = ManualClock()
        var b = bucket(records: 100, bytes: nil, clock: clock)
        b.acquire(records: 100, bytes: 0)
        #expect(b.throttledMs == 0)
        clock.advance(ms: 10_000)
        b.acquire(records: 100, bytes: 0)
        #expect(b.throttledMs == 0)
        b.acquire(records: 100, bytes: 0)
        #expect(b.throttledMs >= 999 && b.throttledMs <= 1_001)
    }

    @Test func profileRatesAreSharedAmongWorkers() {
        let clock = ManualClock()
        let profile = Profile(name: "p", sinkRecordsPerSecond: 2_000)
        var b = TokenBucket(profile: profile, workers: 2, clock: clock)
        #expect(b.recordsPerSecond == 1_000)
        b.acquire(records: 3_000, bytes: 0)
        #expect(b.throttledMs >= 1_999 && b.throttledMs <= 2_001)
    }

    @Test func nullSinkCountsRowsAndReportsThrottledTime() throws {
        let clock = ManualClock()
        let totals = SinkTotals()
        let schema = Schema([Field("n", .int64)])
        let context = SinkContext(
            worker: 0, workers: 1, schema: schema, profile: Profile(name: "p", sinkRecordsPerSecond: 100),
            clock: clock)
        let writer = try NullSinkConnector(totals: totals).openWriter(context)
        let batch = makeBatch([Field("n", .int64)], (0..<50).map { [.int64(Int64($0))] })
        for _ in 0..<6 { try writer.write(batch) }
        try writer.close()
        #expect(totals.rows == 300)
        #expect(writer.metrics()["rows_written"] == 300)
        let throttled = writer.metrics()["throttled_ms"] ?? -1
        #expect(throttled >= 1_999 && throttled <= 2_001)
    }
}
