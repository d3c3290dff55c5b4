import Foundation
import StreamCore
import Testing

@testable import StreamKafka

/// librdkafka before 2.3.0 aborts the process when a cooperative-sticky group member that joined its group
/// but got no assignment yet is destroyed (librdkafka issue #4312): a consumer closed mid-rebalance, by a
/// profile switch that reopens it or a stop. Such a reader closes without taking the process down.
@Suite(.serialized) struct GroupCloseTests {
    /// Opens a group reader, polls it until it joined, closes it; the reader is released on return.
    func joinAndClose(_ broker: EmbeddedBroker) throws -> (joined: Bool, assigned: Bool) {
        let reader = try sourceConnector(broker, topics: ["events"]).openReader(makeContext())
        let kafka = try #require(reader as? KafkaSourceReader)
        var batch = Batch(schema: testSchema)
        // Polled until the coordinator gave it a member id, i.e. it sent a JoinGroup (an event: the bound
        // only catches a hang).
        for _ in 0..<600 where !kafka.client.hasMemberId {
            _ = try? reader.poll(into: &batch, maxRows: 10, timeoutMs: 100)
        }
        let figures = (kafka.client.hasMemberId, kafka.client.events.assignedOnce.load(ordering: .acquiring))
        reader.close()
        return figures
    }

    @Test func aGroupReaderClosedAfterJoiningButBeforeItsFirstAssignmentDoesNotAbortTheProcess() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: 2)
        // Every SyncGroup fails (REBALANCE_IN_PROGRESS): the member joins again and again, never assigned.
        broker.pushRequestErrors(apiKey: 14, errors: Array(repeating: 27, count: 10_000))
        let (joined, assigned) = try joinAndClose(broker)
        // Still here: before the fix, releasing that reader aborted the process in rd_kafka_destroy.
        #expect(joined, "the member never joined")
        #expect(!assigned)
    }
}
