import Foundation
import StreamKafka

/// Produces rows to a topic of an embedded broker, row i to partition i % partitions, numbering them on.
final class RowProducer {
    let broker: EmbeddedBroker
    let topic: String
    let partitions: Int
    let line: (Int) -> String
    /// Rows produced so far; the next row is numbered this.
    private(set) var produced = 0

    init(broker: EmbeddedBroker, topic: String, partitions: Int, line: @escaping (Int) -> String) {
        self.broker = broker
        self.topic = topic
        self.partitions = partitions
        self.line = line
    }

    func produce(_ n: Int) throws {
        var byPartition: [[[UInt8]]] = Array(repeating: [], count: partitions)
        for i in produced..<(produced + n) { byPartition[i % partitions].append(Array(line(i).utf8)) }
        for (p, values) in byPartition.enumerated() where !values.isEmpty {
            try broker.produce(topic: topic, partition: Int32(p), values: values)
        }
        produced += n
    }
}

/// A pipeline reading `{id, shop}` JSON rows of topic `orders` on the embedded broker (consumer group `name`,
/// settling quickly) into JSON part files under `dir/out`, with checkpoints in `dir/checkpoints`.
func kafkaToFilesPipeline(_ dir: URL, name: String, assignment: String, retain: Int) -> String {
    """
    name: \(name)
    schema: { id: int64, shop: string }
    source:
      kafka:
        brokers: embedded
        topics: [orders]
        group: \(name)
        start_from: earliest
        assignment: \(assignment)
        properties: { session.timeout.ms: "3000", heartbeat.interval.ms: "200" }
      format: json
    operators:
      - select: [id, shop]
    sink:
      file: { path: \(dir.path)/out, format: json }
    state: { backend: memory }
    checkpoints: { dir: \(dir.path)/checkpoints, retain: \(retain) }
    """
}
