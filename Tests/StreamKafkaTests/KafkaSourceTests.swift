import Foundation
import StreamCore
import StreamKafka
import Testing

@Suite(.serialized) struct KafkaSourceTests {
    @Test func readsExactlyWhatKcatProduced() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 3)
        let dir = TempDir()
        try kcatProduce(broker, topic: "orders", ids: 0..<500, dir: dir)

        let reader = try sourceConnector(broker, topics: ["orders"]).openReader(makeContext())
        let result = try readToEnd([reader])

        #expect(result.ids.count == 500)
        #expect(result.ids.sorted() == (0..<500).map(Int64.init))
        #expect(result.maxEventTime == Int64(1_700_000_000_499))
        #expect(reader.lag().values.allSatisfy { $0 == 0 })
    }

    @Test func eightPartitionsTwoReadersInOneGroupReadEveryRowOnce() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("clicks", partitions: 8)
        let dir = TempDir()
        try kcatProduce(broker, topic: "clicks", ids: 0..<2000, dir: dir)

        let connector = sourceConnector(broker, topics: ["clicks"])
        let readers = try (0..<2).map { try connector.openReader(makeContext(worker: $0, workers: 2)) }
        let result = try readToEnd(readers)

        #expect(result.ids.count == 2000)
        #expect(Set(result.ids) == Set((0..<2000).map(Int64.init)))
        #expect(result.perReader.allSatisfy { $0 > 0 }, "both readers got partitions: \(result.perReader)")
    }

    @Test func secondReaderJoiningMidRunTakesOverPartitionsWithoutLossOrDuplicates() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: 4)
        let dir = TempDir()
        try kcatProduce(broker, topic: "events", ids: 0..<1000, dir: dir)
        let connector = sourceConnector(broker, topics: ["events"])

        let first = try connector.openReader(makeContext(worker: 0, workers: 2, bounded: .unbounded))
        // Reader 1 holds all four partitions and reads some rows.
        var ids = try read(first, atLeast: 50, maxRows: 10)
        var batch = Batch(schema: testSchema)
        #expect(ids.count >= 50)

        // Reader 2 joins; reader 1 dribbles on until the group hands reader 2 its share.
        let second =
            try connector.openReader(makeContext(worker: 1, workers: 2, bounded: .unbounded)) as! KafkaSourceReader
        var secondRows = 0
        let joined = Date()
        // Bounds are generous: the loops end on the event (a rebalance takes seconds on a loaded machine).
        while second.positions().isEmpty && Date().timeIntervalSince(joined) < 60 {
            _ = try second.poll(into: &batch, maxRows: 100, timeoutMs: 100)
            secondRows += batch.count
            ids += rows(of: batch).map(\.0)
            batch.removeAll()
            _ = try first.poll(into: &batch, maxRows: 1, timeoutMs: 0)
            ids += rows(of: batch).map(\.0)
            batch.removeAll()
        }
        #expect(!second.positions().isEmpty, "the group gave reader 2 partitions")

        // Both read on (unbounded) until every row is in, then a little longer to catch duplicates.
        var quietUntil: Date?
        while Date().timeIntervalSince(joined) < 90 {
            for (i, reader) in [first, second as any SourceReader].enumerated() {
                _ = try reader.poll(into: &batch, maxRows: 200, timeoutMs: 50)
                if i == 1 { secondRows += batch.count }
                ids += rows(of: batch).map(\.0)
                batch.removeAll()
            }
            if ids.count >= 1000 && quietUntil == nil { quietUntil = Date().addingTimeInterval(1) }
            if let q = quietUntil, Date() > q { break }
        }
        #expect(ids.count == 1000)
        #expect(Set(ids) == Set((0..<1000).map(Int64.init)))
        #expect(secondRows > 0)
        first.close()
        second.close()
    }

    /// What a source worker does when a live profile changes the fetch settings in group mode: it closes its
    /// consumer (which leaves the group) and opens a new one (which joins again). Until the group assigns the
    /// partitions again the new reader holds nothing, and the positions wait in the hand-off table, where a
    /// barrier finds them; then it resumes each partition there: every row is read exactly once.
    @Test func aGroupReaderReopenedMidRunResumesAtTheHandedOverPositionsAndReadsEveryRowOnce() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: 4)
        let dir = TempDir()
        try kcatProduce(broker, topic: "events", ids: 0..<1000, dir: dir)
        let connector = sourceConnector(broker, topics: ["events"])

        let first = try connector.openReader(makeContext())
        var ids = try read(first, atLeast: 200, maxRows: 50)
        #expect(ids.count >= 200 && ids.count < 1000)
        let held = first.splitPositions()
        #expect(held.count == 4, "the only member holds every partition: \(held)")
        first.close()

        let second = try connector.openReader(makeContext())
        // Not polled yet, so no assignment can have arrived: the new reader holds nothing, the table has it all.
        #expect(second.splitPositions().isEmpty)
        #expect(second.handedOverPositions() == held)
        #expect(second.handedOverPositions().values.reduce(0, +) == Int64(ids.count))
        let rest = try readToEnd([second], seconds: 60)
        ids += rest.ids
        #expect(ids.count == 1000)
        #expect(Set(ids) == Set((0..<1000).map(Int64.init)), "\(1000 - Set(ids).count) rows missing")
    }

    @Test func brokerDownForAWhileThenUpStillReadsEverything() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 2)
        let dir = TempDir()
        try kcatProduce(broker, topic: "orders", ids: 0..<1000, dir: dir)
        let reader = try sourceConnector(broker, topics: ["orders"]).openReader(makeContext())

        var ids: [Int64] = []
        var batch = Batch(schema: testSchema)
        while ids.isEmpty {
            _ = try reader.poll(into: &batch, maxRows: 20, timeoutMs: 100)
            ids += rows(of: batch).map(\.0)
            batch.removeAll()
        }
        broker.setBrokerDown(1)
        let downAt = Date()
        while Date().timeIntervalSince(downAt) < 1.5 {
            _ = try reader.poll(into: &batch, maxRows: 20, timeoutMs: 100)
            ids += rows(of: batch).map(\.0)
            batch.removeAll()
        }
        broker.setBrokerUp(1)
        let rest = try readToEnd([reader])
        ids += rest.ids

        #expect(ids.count == 1000)
        #expect(Set(ids) == Set((0..<1000).map(Int64.init)))
    }

    @Test func injectedFetchErrorsStillReadEverything() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 2)
        let dir = TempDir()
        try kcatProduce(broker, topic: "orders", ids: 0..<1000, dir: dir)
        // NOT_LEADER_FOR_PARTITION (6) and REQUEST_TIMED_OUT (7) on the next Fetch requests.
        broker.pushRequestErrors(apiKey: 1, errors: [6, 7, 6, 7, 7])

        var properties = quickGroup
        properties["fetch.error.backoff.ms"] = "100"
        let reader = try sourceConnector(broker, topics: ["orders"], properties: properties).openReader(makeContext())
        let result = try readToEnd([reader], maxRows: 50)

        #expect(result.ids.count == 1000)
        #expect(Set(result.ids) == Set((0..<1000).map(Int64.init)))
    }

    @Test func badRecordsAreCountedAndSkippedUnderSkip() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("mixed", partitions: 1)
        let good = (0..<10).map { (key: [UInt8]?.none, value: Array(jsonLine($0).utf8)) }
        let bad: [(key: [UInt8]?, value: [UInt8])] = [
            (nil, Array("not json".utf8)), (nil, Array("{\"id\":\"x\",\"name\":\"row-x\",\"ts\":1}".utf8)),
        ]
        try broker.produce(topic: "mixed", messages: Array(good[0..<5]) + bad + Array(good[5...]))

        let handler = try BadRecordHandler(policy: .skip)
        let reader = try sourceConnector(broker, topics: ["mixed"])
            .openReader(makeContext(policy: .skip, badRecords: handler))
        let result = try readToEnd([reader])

        #expect(result.ids.sorted() == (0..<10).map(Int64.init))
        #expect(handler.count == 2)
    }

    @Test func badRecordUnderFailNamesTopicPartitionAndOffset() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("mixed", partitions: 1)
        let messages: [(key: [UInt8]?, value: [UInt8])] =
            [(nil, Array(jsonLine(0).utf8)), (nil, Array(jsonLine(1).utf8)), (nil, Array("{oops".utf8))]
        try broker.produce(topic: "mixed", messages: messages)

        let reader = try sourceConnector(broker, topics: ["mixed"]).openReader(makeContext(policy: .fail))
        let error = #expect(throws: StreamError.self) { try readToEnd([reader]) }
        #expect(error?.kind == .badRecord)
        #expect(error?.message.contains("mixed[0]@2") == true, "\(error?.message ?? "")")
    }

    @Test func unreachableBootstrapFailsWithinTheTimeoutNamingAddressAndLibrdkafkaError() throws {
        let spec = KafkaSourceSpec(
            brokers: "127.0.0.1:1", topics: ["orders"], group: "g",
            properties: ["streamctl.connect.timeout.ms": "3000"])
        let connector = KafkaSourceConnector(
            spec: spec, bootstrap: "127.0.0.1:1", decoderFactory: { TestJSONDecoder(schema: $0) },
            eventTimeFromKafkaTimestamp: false)
        let started = Date()
        let error = #expect(throws: StreamError.self) { _ = try connector.openReader(makeContext()) }
        let elapsed = Date().timeIntervalSince(started)

        #expect(error?.kind == .brokerUnavailable)
        #expect(error?.message.hasPrefix("cannot reach Kafka at 127.0.0.1:1: ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("Connection refused") == true, "\(error?.message ?? "")")
        #expect(elapsed < 30, "the 3 s connect timeout bounds the wait (loose: a loaded machine is slow)")
    }
}
