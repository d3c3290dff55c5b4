internal import CRdKafka
import StreamCore

/// Writes rows to a Kafka topic with an idempotent producer, one producer per sink worker.
/// Every delivery report is checked: a failed delivery fails the next `write` or `flush`.
public struct KafkaSinkConnector: SinkConnector {
    public let spec: KafkaSinkSpec
    /// The resolved bootstrap servers.
    public let bootstrap: String
    let encoder: @Sendable (Batch, Int) -> [UInt8]

    /// `encoder` turns row `i` of a batch into the message value (a JSON object, usually).
    public init(spec: KafkaSinkSpec, bootstrap: String, encoder: @escaping @Sendable (Batch, Int) -> [UInt8]) {
        self.spec = spec
        self.bootstrap = bootstrap
        self.encoder = encoder
    }

    public func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter {
        try KafkaSinkWriter(connector: self, context: context)
    }
}

/// One sink worker's producer.
final class KafkaSinkWriter: SinkWriter {
    private let producer: RdKafkaProducer
    private let topic: RdKafkaTopic
    private let topicName: String
    private let encoder: @Sendable (Batch, Int) -> [UInt8]
    private let keyColumn: Int?
    private var written: Int64 = 0

    init(connector: KafkaSinkConnector, context: SinkContext) throws(StreamError) {
        let spec = connector.spec
        topicName = spec.topic
        encoder = connector.encoder
        if let field = spec.keyField {
            guard let index = context.schema.index(of: field) else {
                throw StreamError(
                    .config, "Kafka sink key field `\(field)` is not a field of the rows reaching the sink")
            }
            keyColumn = index
        } else {
            keyColumn = nil
        }
        let base: [(String, String)] = [
            ("bootstrap.servers", connector.bootstrap), ("client.id", "streamctl-sink-\(context.worker)"),
            ("enable.idempotence", "true"),
            // Idempotence keeps order with at most 5 requests in flight per connection.
            ("max.in.flight.requests.per.connection", String(max(1, min(5, context.profile.sinkMaxOpen)))),
            ("linger.ms", String(max(0, min(context.profile.flushLatencyMs, 1000)))),
        ]
        producer = try RdKafkaClient.producer(properties: base, extra: spec.properties)
        topic = try producer.topic(spec.topic)
    }

    func write(_ batch: Batch) throws(StreamError) {
        try throwFailedDelivery()
        var key: [UInt8] = []
        for row in 0..<batch.count {
            let value = encoder(batch, row)
            let hasKey = keyColumn.map { keyBytes(batch.columns[$0], row, into: &key) } ?? false
            let result: Result<Void, StreamError> = value.withUnsafeBytes { v in
                key.withUnsafeBytes { k in
                    Result { () throws(StreamError) in
                        try producer.produce(
                            topic: topic.raw, partition: RD_KAFKA_PARTITION_UA, key: hasKey ? k : nil, value: v)
                    }
                }
            }
            try result.get()
        }
        written += Int64(batch.count)
        rd_kafka_poll(producer.handle, 0)  // serve delivery reports
        try throwFailedDelivery()
    }

    func flush() throws(StreamError) {
        try producer.flushDeliveries(timeoutMs: 60_000)
    }

    func close() throws(StreamError) { try flush() }

    func metrics() -> [String: Int64] {
        let f = producer.events.figures.withLock { $0 }
        return [
            "records_written": written, "delivered": f.delivered, "failed_deliveries": f.failedDeliveries,
            "in_flight": Int64(rd_kafka_outq_len(producer.handle)),
        ]
    }

    private func throwFailedDelivery() throws(StreamError) {
        if let failure = producer.events.takeFailures().first { throw StreamError(.sink, failure) }
    }

    /// The key as UTF-8 text of the row's value (RFC 3339 timestamps, exact decimals); false for null.
    private func keyBytes(_ column: Column, _ row: Int, into out: inout [UInt8]) -> Bool {
        out.removeAll(keepingCapacity: true)
        return ValueText.append(column, row: row, into: &out)
    }
}
