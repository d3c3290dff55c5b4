import Foundation
import StreamCore
import StreamKafka
import StreamPipeline
import Testing

@testable import StreamRunner

/// A Kafka reader of a bounded run closes itself when it reaches its end offsets, handing its positions over;
/// the final barrier comes after that. The last checkpoint must still say where every partition ended, or
/// the next run resumes them from `start_from` and reads them again.
@Suite(.serialized) struct KafkaCheckpointPositionTests {
    @Test(arguments: ["static", "group"], [1, 2])
    func aCaughtUpRunsLastCheckpointHoldsEveryPartitionAtItsEndOffset(_ assignment: String, _ parallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ended-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 4)
        let orders = RowProducer(broker: broker, topic: "orders", partitions: 4) { "{\"id\":\($0),\"shop\":\"s\($0 % 7)\"}" }
        try orders.produce(2_000)

        // Only the final checkpoint: the interval is far longer than the run.
        let profile = Profile(name: "t", parallelism: parallelism, checkpointIntervalMs: 600_000)
        let runner = JobRunner(
            spec: try PipelineLoader.load(yaml: kafkaToFilesPipeline(dir, name: "ended", assignment: assignment, retain: 3), file: "ended.yaml"), profile: profile,
            options: RunOptions(bound: .caughtUp, bindArenas: false))
        runner.broker = broker
        let outcome = try runner.run()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(outcome.summary.json.contains("\"rows_in\":2000"))

        let store = try #require(runner.checkpointStore)
        let last = try #require(store.ids().max())
        // Rows i % 4 == p went to partition p: 500 each, so each ends at offset 500.
        #expect(try store.manifest(last).progress.positions == [0: 500, 1: 500, 2: 500, 3: 500])
    }
}
