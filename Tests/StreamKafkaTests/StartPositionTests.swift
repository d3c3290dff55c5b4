import Foundation
import StreamCore
import StreamKafka
import Testing

@Suite(.serialized) struct StartPositionTests {
    func connector(_ broker: EmbeddedBroker, start: StartPosition) -> KafkaSourceConnector {
        KafkaSourceConnector(
            spec: KafkaSourceSpec(
                brokers: "embedded", topics: ["t"], group: "positions", startFrom: start, properties: quickGroup,
                assignment: .static),
            bootstrap: broker.bootstrapServers, decoderFactory: { TestJSONDecoder(schema: $0) },
            eventTimeFromKafkaTimestamp: false)
    }

    @Test func latestReadsOnlyWhatIsProducedAfterTheStart() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t", partitions: 3)
        let dir = TempDir()
        try kcatProduce(broker, topic: "t", ids: 0..<300, dir: dir)
        let reader = try connector(broker, start: .latest).openReader(makeContext(bounded: .unbounded))
        // Nothing before the start is delivered, however long we poll.
        var ids: [Int64] = []
        for _ in 0..<10 {
            var batch = Batch(schema: testSchema)
            _ = try reader.poll(into: &batch, maxRows: 100, timeoutMs: 50)
            ids += rows(of: batch).map(\.0)
        }
        #expect(ids.isEmpty)
        try kcatProduce(broker, topic: "t", ids: 300..<400, dir: dir)
        let deadline = Date().addingTimeInterval(15)
        while ids.count < 100 && Date() < deadline {
            var batch = Batch(schema: testSchema)
            _ = try reader.poll(into: &batch, maxRows: 100, timeoutMs: 50)
            ids += rows(of: batch).map(\.0)
        }
        #expect(ids.sorted() == (300..<400).map(Int64.init))
        reader.close()
    }

    @Test func committedWithNothingCommittedStartsAtTheEarliestOffset() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t", partitions: 2)
        let dir = TempDir()
        try kcatProduce(broker, topic: "t", ids: 0..<200, dir: dir)
        let reader = try connector(broker, start: .committed).openReader(makeContext())
        let result = try readToEnd([reader])
        #expect(result.ids.sorted() == (0..<200).map(Int64.init))
    }

    @Test func staticAssignmentGivesWorkerWThePartitionsIModNEqualToW() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t", partitions: 4)
        let dir = TempDir()
        try kcatProduce(broker, topic: "t", ids: 0..<400, dir: dir)
        let c = connector(broker, start: .earliest)
        let readers = try (0..<2).map { try c.openReader(makeContext(worker: $0, workers: 2)) }
        // Worker w of 2 holds partitions w and w + 2 from the moment it opens: no group round.
        let held = readers.map { r in Set(((r as? KafkaSourceReader)?.positions() ?? [:]).keys.map(\.partition)) }
        #expect(held[0] == [0, 2])
        #expect(held[1] == [1, 3])
        let result = try readToEnd(readers)
        #expect(Set(result.ids) == Set((0..<400).map(Int64.init)))
        #expect(result.ids.count == 400)
        #expect(result.perReader.allSatisfy { $0 > 0 })
    }
}

@Suite(.serialized) struct RetentionLossTests {
    @Test func aPositionThatFellOutOfRetentionResetsToTheEarliestAndCountsTheLoss() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t", partitions: 1)
        let pad = String(repeating: "v", count: 1000)
        func messages(_ ids: Range<Int>) -> [(key: [UInt8]?, value: [UInt8])] {
            ids.map {
                (
                    key: nil,
                    value: Array(
                        "{\"id\":\($0),\"name\":\"row-\($0)\",\"ts\":\(1_700_000_000_000 + $0),\"pad\":\"\(pad)\"}".utf8
                    )
                )
            }
        }
        try broker.produce(topic: "t", messages: messages(0..<100))
        let reader = try KafkaSourceConnector(
            spec: KafkaSourceSpec(brokers: "embedded", topics: ["t"], group: "loss", assignment: .static),
            bootstrap: broker.bootstrapServers, decoderFactory: { TestJSONDecoder(schema: $0) },
            eventTimeFromKafkaTimestamp: false
        ).openReader(makeContext(bounded: .unbounded))
        var ids: [Int64] = []
        func poll(until done: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(20)
            while !done() && Date() < deadline {
                var batch = Batch(schema: testSchema)
                _ = try reader.poll(into: &batch, maxRows: 500, timeoutMs: 50)
                ids += rows(of: batch).map(\.0)
            }
        }
        try poll { ids.count == 100 }
        // Paused, the reader fetches nothing while 7 MB more arrive and push the oldest out of retention.
        reader.setPaused(true)
        for start in stride(from: 100, to: 7_100, by: 1_000) {
            try broker.produce(topic: "t", messages: messages(start..<(start + 1_000)))
        }
        reader.setPaused(false)
        try poll { ids.last == 7_099 }
        #expect(Array(ids.prefix(100)) == (0..<100).map(Int64.init))
        #expect(ids.last == 7_099)
        let firstAfterGap = ids[100]
        #expect(firstAfterGap > 100, "the oldest offsets were gone")
        #expect(ids.count == 100 + Int(7_100 - firstAfterGap))
        #expect(reader.metrics()["data_loss_offsets"] == firstAfterGap - 100)
        reader.close()
    }
}
