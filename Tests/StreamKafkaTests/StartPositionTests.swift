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
