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
}
