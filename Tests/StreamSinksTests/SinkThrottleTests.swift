import Foundation
import StreamCore
import StreamSinks
import Testing

/// The profile's sink throttle, measured at the file sink on the manual clock: what it writes over a window
/// is the budget, to the millisecond, however fast the writing thread runs.
@Suite struct SinkThrottleTests {
    let fields = [Field("id", .int64), Field("shop", .string)]

    func batch(_ range: Range<Int>) -> Batch {
        makeBatch(fields, range.map { [.int64(Int64($0)), .string("shop-\($0 % 3)")] })
    }

    func writer(_ profile: Profile, dir: TempDir, clock: ManualClock) throws -> any SinkWriter {
        try FileSinkConnector(spec: FileSinkSpec(path: dir.path + "/out"))
            .openWriter(SinkContext(worker: 0, workers: 1, schema: Schema(fields), profile: profile, clock: clock))
    }

    @Test func sinkLimitedToNRowsPerSecondWritesNRowsPerSecondOverAWindow() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock()
        let w = try writer(Profile(name: "p", sinkRecordsPerSecond: 2_000), dir: dir, clock: clock)
        var samples: [(ns: UInt64, rows: Int)] = []
        for i in 0..<40 {
            try w.write(batch(i * 250..<(i + 1) * 250))
            samples.append((clock.monotonicNs(), (i + 1) * 250))
        }
        try w.close()
        // After the first second's burst (2,000 rows), every window between two writes runs at 2,000 rows/s.
        let window = samples.drop { $0.rows <= 2_000 }
        let first = window.first!, last = window.last!
        let rate = Double(last.rows - first.rows) / (Double(last.ns - first.ns) / 1e9)
        #expect(abs(rate - 2_000) <= 2, "\(rate) rows/s")
        // 10,000 rows: one second of burst, then four seconds of waiting.
        let throttled = w.metrics()["throttled_ms"] ?? -1
        #expect(throttled >= 3_999 && throttled <= 4_001)
        #expect(dir.files().count >= 1)
    }

    @Test func sinkLimitedInBytesPerSecondWritesThatManyBytesOfOutputPerSecond() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock()
        let budget: Int64 = 20_000
        let start = clock.monotonicNs()
        let w = try writer(Profile(name: "p", sinkBytesPerSecond: budget), dir: dir, clock: clock)
        for i in 0..<40 { try w.write(batch(i * 100..<(i + 1) * 100)) }
        try w.close()
        let elapsed = Double(clock.monotonicNs() - start) / 1e9
        // The bytes throttled are the bytes written: the part files' sizes.
        let bytes = dir.files().reduce(0) { $0 + dir.read($1).utf8.count }
        #expect(bytes > 4 * Int(budget))
        // One second's burst, then the budget: elapsed = (bytes - burst) / rate, within one batch's worth.
        let expected = Double(bytes - Int(budget)) / Double(budget)
        #expect(abs(elapsed - expected) <= 0.2, "elapsed \(elapsed) s, expected \(expected) s for \(bytes) bytes")
    }
}
