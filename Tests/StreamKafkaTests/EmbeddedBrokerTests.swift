import Foundation
import StreamCore
import StreamKafka
import Testing

@Suite(.serialized) struct EmbeddedBrokerTests {
    @Test func loadProducesEveryLineKeyedByTheField() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 4)
        let dir = TempDir()
        let lines = (0..<200).map { "{\"shop\": \"s\($0 % 9)\", \"id\":\($0)}" }
        let file = dir.write("orders.jsonl", lines.joined(separator: "\n") + "\n")

        let count = try broker.load(jsonLines: file, topic: "orders", keyField: "shop")

        #expect(count == 200)
        let output = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "orders", "-e", "-q", "-f", "%k %s\\n"])
        let got = output.split(separator: "\n").map(String.init).sorted()
        #expect(got == lines.enumerated().map { "s\($0.offset % 9) \($0.element)" }.sorted())
    }

    @Test func loadRefusesAFileThatWouldOverflowRetention() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("big", partitions: 2)
        let dir = TempDir()
        let padding = String(repeating: "x", count: 1000)
        let text = (0..<12_000).map { "{\"id\":\($0),\"pad\":\"\(padding)\"}" }.joined(separator: "\n")
        let file = dir.write("big.jsonl", text)

        let error = #expect(throws: StreamError.self) {
            _ = try broker.load(jsonLines: file, topic: "big", keyField: nil)
        }

        #expect(error?.message.contains("would overflow the embedded broker's retention") == true)
        #expect(error?.message.contains("6000 rows") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("at most 5242880 bytes") == true)
        #expect(error?.message.contains("use more partitions (at least 4:") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("`--topic NAME:N` on `dev-broker`") == true)
        let output = try kcat(["-C", "-b", broker.bootstrapServers, "-t", "big", "-e", "-q", "-f", "%o\\n"])
        #expect(output.isEmpty, "nothing was produced")
    }

    @Test func loadRefusesAMessageTooBigForAnyPartitionCountAsTooBig() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("huge", partitions: 8)
        let dir = TempDir()
        let file = dir.write(
            "huge.jsonl", "{\"id\":1}\n{\"id\":2,\"pad\":\"\(String(repeating: "x", count: 6 << 20))\"}\n")
        let error = #expect(throws: StreamError.self) {
            _ = try broker.load(jsonLines: file, topic: "huge", keyField: nil)
        }
        #expect(error?.message.contains("record 2 of the file is one message of about") == true)
        #expect(error?.message.contains("no number of partitions can hold it") == true)
        #expect(error?.message.contains("at least") == false)
    }

    /// Measures the mock cluster's retention through the Kafka protocol: past 5 MiB of record batches
    /// in one partition, the oldest batches are gone.
    @Test func retentionDropsOldestBeyondFiveMiB() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("r", partitions: 1)
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 1000)
        for _ in 0..<7 {
            try broker.produce(topic: "r", messages: Array(repeating: (key: nil, value: value), count: 1000))
        }
        let output = try kcat([
            "-C", "-b", broker.bootstrapServers, "-t", "r", "-o", "beginning", "-e", "-q", "-f", "%o\\n",
        ])
        let offsets = output.split(separator: "\n").compactMap { Int($0) }

        #expect(offsets.last == 6999)
        #expect(offsets.first! > 0, "the oldest messages were dropped")
        let keptBytes = offsets.count * 1000
        #expect(keptBytes <= MockRetention.maxBytes)
        #expect(keptBytes > MockRetention.maxBytes - 1_100_000, "at most about one batch below the limit")
    }
}
