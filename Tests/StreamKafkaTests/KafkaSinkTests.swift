import Foundation
import StreamCore
import StreamKafka
import Testing

@Suite(.serialized) struct KafkaSinkTests {
    static let schema = Schema([Field("shop", .string), Field("total", .int64)])

    @Test func rowsWrittenByTheSinkAreWhatKcatConsumes() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 3)
        let sink = KafkaSinkConnector(
            spec: KafkaSinkSpec(brokers: "embedded", topic: "out", keyField: "shop"),
            bootstrap: broker.bootstrapServers,
            encoder: { batch, row in
                let shop = batch.columns[0].strings.string(at: row)
                return Array("{\"shop\":\"\(shop)\",\"total\":\(batch.columns[1].int64s[row])}".utf8)
            })
        let writer = try sink.openWriter(
            SinkContext(worker: 0, workers: 1, schema: Self.schema, profile: Profile(name: "t")))
        let shops = (0..<300).map { "shop-\($0 % 7)" }
        let totals = (0..<300).map { Int64($0) }
        let batch = Batch(schema: Self.schema, columns: [Column(strings: shops), Column(int64s: totals)])
        try writer.write(batch)
        try writer.flush()
        #expect(writer.metrics()["delivered"] == 300)

        let output = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "out", "-e", "-q", "-f", "%k %s\\n"])
        let lines = output.split(separator: "\n").map(String.init).sorted()
        let expected = (0..<300).map { "shop-\($0 % 7) {\"shop\":\"shop-\($0 % 7)\",\"total\":\($0)}" }.sorted()
        #expect(lines == expected)
        try writer.close()
    }

    @Test func aProfileChangeOfLingerReopensTheProducerAndLosesNoRow() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 2)
        let sink = KafkaSinkConnector(
            spec: KafkaSinkSpec(brokers: "embedded", topic: "out"), bootstrap: broker.bootstrapServers,
            encoder: { batch, row in Array("\(batch.columns[1].int64s[row])".utf8) })
        let writer = try sink.openWriter(
            SinkContext(worker: 0, workers: 1, schema: Self.schema, profile: Profile.builtIn["backfill"]!))
        func batch(_ r: Range<Int>) -> Batch {
            Batch(schema: Self.schema, columns: [Column(strings: r.map { _ in "s" }), Column(int64s: r.map(Int64.init))])
        }
        try writer.write(batch(0..<200))
        #expect(writer.metrics()["linger_ms"] == 100)
        // Only the throttle changes: the producer stays.
        var throttled = Profile.builtIn["backfill"]!
        throttled.sinkRecordsPerSecond = 5
        writer.apply(throttled)
        #expect(writer.metrics()["producer_reopened"] == 0)
        writer.apply(Profile.builtIn["steady"]!)
        #expect(writer.metrics()["producer_reopened"] == 1)
        #expect(writer.metrics()["linger_ms"] == 5)
        try writer.write(batch(200..<400))
        try writer.flush()
        #expect(writer.metrics()["delivered"] == 400)
        let output = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "out", "-e", "-q", "-f", "%s\\n"])
        #expect(output.split(separator: "\n").compactMap { Int($0) }.sorted() == Array(0..<400))
        try writer.close()
    }

    @Test func failedDeliveryMakesFlushThrowWithTheBrokerError() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 1)
        let sink = KafkaSinkConnector(
            spec: KafkaSinkSpec(brokers: "embedded", topic: "out", properties: ["message.timeout.ms": "1500"]),
            bootstrap: broker.bootstrapServers, encoder: { _, row in Array("\(row)".utf8) })
        let writer = try sink.openWriter(
            SinkContext(worker: 0, workers: 1, schema: Self.schema, profile: Profile(name: "t")))
        broker.setBrokerDown(1)
        try writer.write(Batch(schema: Self.schema, columns: [Column(strings: ["a"]), Column(int64s: [1])]))
        let error = #expect(throws: StreamError.self) { try writer.flush() }
        #expect(error?.kind == .sink)
        #expect(error?.message.hasPrefix("delivery to out[") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("timed out") == true, "\(error?.message ?? "")")
    }

    // MARK: The sink throttle

    /// `{"shop":…,"total":…}` keyed by shop: what the throttle tests produce.
    static func jsonSink(_ broker: EmbeddedBroker) -> KafkaSinkConnector {
        KafkaSinkConnector(
            spec: KafkaSinkSpec(brokers: "embedded", topic: "out", keyField: "shop"),
            bootstrap: broker.bootstrapServers,
            encoder: { batch, row in
                let shop = batch.columns[0].strings.string(at: row)
                return Array("{\"shop\":\"\(shop)\",\"total\":\(batch.columns[1].int64s[row])}".utf8)
            })
    }

    static func orders(_ r: Range<Int>) -> Batch {
        Batch(schema: schema, columns: [Column(strings: r.map { "shop-\($0 % 7)" }), Column(int64s: r.map(Int64.init))])
    }

    /// Rows per second of the manual clock between the first and the last sample.
    static func rate(_ samples: some Collection<(ns: UInt64, rows: Int)>) -> Double {
        let first = samples.first!, last = samples.reversed().first!
        return Double(last.rows - first.rows) / (Double(last.ns - first.ns) / 1e9)
    }

    /// The `total`s of every message in the topic, sorted: what a consumer reads.
    static func consumedTotals(_ broker: EmbeddedBroker) throws -> [Int] {
        let output = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "out", "-e", "-q", "-f", "%s\\n"])
        return output.split(separator: "\n").compactMap { line in
            line.split(separator: ":").last.flatMap { Int($0.dropLast()) }
        }.sorted()
    }

    /// Each of the sink's workers gets an equal share of `sink.records_per_second`: on the manual clock, a worker
    /// produces its share per second over a window after its first second's burst, and every row arrives.
    @Test(arguments: [1, 2])
    func kafkaSinkLimitedToNRowsPerSecondProducesNRowsPerSecondOverAWindow(_ workers: Int) throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 3)
        let sink = Self.jsonSink(broker)
        let profile = Profile(name: "limited", sinkRecordsPerSecond: 4_000)
        let share = 4_000 / workers
        var next = 0
        for w in 0..<workers {
            // Each worker has its own thread in a run: its own clock here, so one's wait is not the other's.
            let clock = ManualClock()
            let writer = try sink.openWriter(
                SinkContext(worker: w, workers: workers, schema: Self.schema, profile: profile, clock: clock))
            var samples: [(ns: UInt64, rows: Int)] = []
            // Five seconds of the worker's budget: one second of burst, then four of waiting.
            for i in 0..<(5 * share / 250) {
                try writer.write(Self.orders(next..<next + 250))
                next += 250
                samples.append((clock.monotonicNs(), (i + 1) * 250))
            }
            let rate = Self.rate(samples.drop { $0.rows <= share })
            #expect(abs(rate - Double(share)) <= 2, "worker \(w): \(rate) rows/s")
            let throttled = writer.metrics()["throttled_ms"] ?? -1
            #expect(throttled >= 3_999 && throttled <= 4_001, "worker \(w): throttled \(throttled) ms")
            try writer.flush()
            #expect(writer.metrics()["delivered"] == Int64(5 * share))
            #expect(writer.metrics()["rows_written"] == Int64(5 * share))
            try writer.close()
        }
        #expect(try Self.consumedTotals(broker) == Array(0..<next))
    }

    /// `sink.bytes_per_second` counts the key and value bytes handed to the producer: on the manual clock the
    /// run takes exactly (bytes - one second's burst) / rate, for the bytes a consumer reads.
    @Test func kafkaSinkLimitedInBytesPerSecondProducesThatManyKeyAndValueBytesPerSecond() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 3)
        let budget: Int64 = 20_000
        let clock = ManualClock()
        let start = clock.monotonicNs()
        let writer = try Self.jsonSink(broker).openWriter(
            SinkContext(
                worker: 0, workers: 1, schema: Self.schema, profile: Profile(name: "p", sinkBytesPerSecond: budget),
                clock: clock))
        for i in 0..<40 { try writer.write(Self.orders(i * 100..<(i + 1) * 100)) }
        let elapsed = Double(clock.monotonicNs() - start) / 1e9
        try writer.flush()
        // Key length and value length of every message, as kcat reads them.
        let lengths = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "out", "-e", "-q", "-f", "%K %S\\n"])
        let bytes = lengths.split(separator: "\n").reduce(0) { sum, line in
            sum + line.split(separator: " ").compactMap { Int($0) }.reduce(0, +)
        }
        #expect(lengths.split(separator: "\n").count == 4_000)
        #expect(writer.metrics()["bytes_written"] == Int64(bytes))
        #expect(bytes > 4 * Int(budget))
        let expected = Double(bytes - Int(budget)) / Double(budget)
        #expect(abs(elapsed - expected) <= 0.001, "elapsed \(elapsed) s, expected \(expected) s for \(bytes) bytes")
        #expect(abs(Double(writer.metrics()["throttled_ms"] ?? -1) - expected * 1000) <= 1)
        try writer.close()
    }

    /// A live `apply` of a profile with another throttle changes the rate from the next write, keeps the
    /// producer (no reopen) and loses no row; a profile without a throttle stops the waiting.
    @Test func aLiveProfileChangeOfTheThrottleChangesTheRateWithoutReopeningTheProducer() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("out", partitions: 3)
        let clock = ManualClock()
        let writer = try Self.jsonSink(broker).openWriter(
            SinkContext(
                worker: 0, workers: 1, schema: Self.schema, profile: Profile(name: "slow", sinkRecordsPerSecond: 1_000),
                clock: clock))
        var next = 0
        func write(_ batches: Int) throws -> [(ns: UInt64, rows: Int)] {
            var samples = [(ns: clock.monotonicNs(), rows: next)]
            for _ in 0..<batches {
                try writer.write(Self.orders(next..<next + 250))
                next += 250
                samples.append((clock.monotonicNs(), next))
            }
            return samples
        }
        let slow = try write(12)  // one second of burst, then two seconds at 1,000 rows/s
        #expect(abs(Self.rate(slow.drop { $0.rows <= 1_000 }) - 1_000) <= 1)

        writer.apply(Profile(name: "fast", sinkRecordsPerSecond: 4_000))
        #expect(writer.metrics()["producer_reopened"] == 0)
        // No new burst: the debt was paid at the old rate, the new rate holds from the first write.
        let fast = try write(16)
        #expect(abs(Self.rate(fast) - 4_000) <= 2, "\(Self.rate(fast)) rows/s")

        writer.apply(Profile(name: "open"))
        let throttled = writer.metrics()["throttled_ms"]
        let unthrottled = try write(20)
        #expect(unthrottled.first!.ns == unthrottled.last!.ns, "an unlimited sink never waits")
        #expect(writer.metrics()["throttled_ms"] == throttled)
        #expect(writer.metrics()["producer_reopened"] == 0)

        try writer.flush()
        #expect(writer.metrics()["delivered"] == Int64(next))
        #expect(try Self.consumedTotals(broker) == Array(0..<next))
        try writer.close()
    }
}
