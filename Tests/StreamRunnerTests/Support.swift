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
