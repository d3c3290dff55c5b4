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

/// One sink worker's producer. librdkafka fixes a handle's configuration at `rd_kafka_new`, so a live
/// profile change of `linger`, `batch_bytes` or `max_open` flushes this producer (every delivery confirmed,
/// so order and idempotence hold) and opens a new one with the new values. The profile's sink throttle
/// (`sink.records_per_second`, `sink.bytes_per_second`: rows and key + value bytes) holds each batch after
/// it is handed to the producer, as the file sink does; a live change retunes it, the producer stays.
final class KafkaSinkWriter: SinkWriter {
    private var producer: RdKafkaProducer
    private var topic: RdKafkaTopic
    private let topicName: String
    private let encoder: @Sendable (Batch, Int) -> [UInt8]
    private let keyColumn: Int?
    private var written: Int64 = 0
    /// Key and value bytes handed to the producer: what `sink.bytes_per_second` counts.
    private var bytesWritten: Int64 = 0
    private var throttle: TokenBucket
    private let workers: Int
    private let bootstrap: String
    private let worker: Int
    private let extra: [String: String]
    /// The producer knobs in force: (linger ms, batch bytes, in-flight requests).
    private var tuning: Tuning
    /// Delivery figures of producers replaced at a profile change.
    private var earlier = (delivered: Int64(0), failed: Int64(0))
    /// Producers opened again for a profile change.
    private var reopened: Int64 = 0

    struct Tuning: Equatable {
        var lingerMs: Int64
        var batchBytes: Int
        var inFlight: Int

        init(_ p: Profile) {
            lingerMs = max(0, p.sinkLingerMs)
            batchBytes = max(1, p.sinkBatchBytes)
            // Idempotence keeps order with at most 5 requests in flight per connection.
            inFlight = max(1, min(5, p.sinkMaxOpen))
        }
    }

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
        bootstrap = connector.bootstrap
        worker = context.worker
        workers = context.workers
        throttle = TokenBucket(profile: context.profile, workers: context.workers, clock: context.clock)
        extra = spec.properties
        tuning = Tuning(context.profile)
        (producer, topic) = try Self.open(
            bootstrap: bootstrap, worker: worker, tuning: tuning, extra: extra, topic: spec.topic)
    }

    private static func open(
        bootstrap: String, worker: Int, tuning: Tuning, extra: [String: String], topic: String
    ) throws(StreamError) -> (RdKafkaProducer, RdKafkaTopic) {
        let base: [(String, String)] = [
            ("bootstrap.servers", bootstrap), ("client.id", "streamctl-sink-\(worker)"),
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", String(tuning.inFlight)),
            ("linger.ms", String(tuning.lingerMs)), ("batch.size", String(tuning.batchBytes)),
        ]
        // The user's properties go last and win.
        let producer = try RdKafkaClient.producer(properties: base, extra: extra)
        return (producer, try producer.topic(topic))
    }

    /// A live profile change: the throttle takes the new rates from the next write; the producer is reopened
    /// only when a producer knob changed. A failure to reopen keeps the old producer (and its old knobs) and
    /// says so; the sink goes on.
    func apply(_ profile: Profile) {
        throttle.retune(profile: profile, workers: workers)
        let next = Tuning(profile)
        guard next != tuning else { return }
        do throws(StreamError) {
            try flush()
            let f = producer.events.figures.withLock { $0 }
            let (p, t) = try Self.open(bootstrap: bootstrap, worker: worker, tuning: next, extra: extra, topic: topicName)
            earlier.delivered += f.delivered
            earlier.failed += f.failedDeliveries
            topic = t
            producer = p
            tuning = next
            reopened += 1
        } catch {
            KafkaLog.emit(level: 4, facility: "SINK", message: "worker \(worker): keeping the producer's earlier settings: \(error.message)")
        }
    }

    func write(_ batch: Batch) throws(StreamError) {
        try throwFailedDelivery()
        var key: [UInt8] = []
        var bytes = 0
        for row in 0..<batch.count {
            let value = encoder(batch, row)
            let hasKey = keyColumn.map { keyBytes(batch.columns[$0], row, into: &key) } ?? false
            bytes += value.count + (hasKey ? key.count : 0)
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
        bytesWritten += Int64(bytes)
        throttle.acquire(records: batch.count, bytes: bytes)
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
            "rows_written": written, "bytes_written": bytesWritten,
            "throttled_ms": throttle.throttledMs, "delivered": earlier.delivered + f.delivered,
            "failed_deliveries": earlier.failed + f.failedDeliveries,
            "in_flight": Int64(rd_kafka_outq_len(producer.handle)), "producer_reopened": reopened,
            "linger_ms": tuning.lingerMs,
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
