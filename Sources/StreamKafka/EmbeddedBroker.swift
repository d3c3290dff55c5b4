internal import CRdKafka
import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// An in-process Kafka cluster: librdkafka's mock cluster, a real Kafka protocol endpoint on loopback.
/// Used by `brokers: embedded`, the examples and the tests. It keeps every partition's log in memory
/// and drops the oldest data beyond `MockRetention` (see `load`).
public final class EmbeddedBroker: @unchecked Sendable {
    /// The handle the mock cluster lives in; must outlive `cluster`.
    private let host: RdKafkaClient
    private let cluster: OpaquePointer  // rd_kafka_mock_cluster_t*
    /// Producer for `load` and `produce`, connected like any outside client.
    private var producer: RdKafkaProducer!

    /// `host:port,...` of the cluster's brokers.
    public let bootstrapServers: String

    public init(brokers: Int = 1) throws(StreamError) {
        let hostConfig = RdKafkaConfig()
        try hostConfig.set("log_level", "3")
        host = try RdKafkaClient(consumer: false, config: hostConfig, events: RdKafkaEvents())
        guard let mc = rd_kafka_mock_cluster_new(host.handle, Int32(brokers)) else {
            throw StreamError(.brokerUnavailable, "cannot start the embedded Kafka broker (mock cluster)")
        }
        cluster = mc
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mc))
        do {
            producer = try RdKafkaClient.producer(
                properties: [
                    ("bootstrap.servers", bootstrapServers), ("linger.ms", "5"), ("batch.num.messages", "10000"),
                    ("enable.idempotence", "true"), ("log_level", "3"),
                ], extra: [:])
        } catch {
            rd_kafka_mock_cluster_destroy(mc)
            throw error
        }
    }

    deinit {
        // The outside producer goes first, then the cluster, then (implicitly) the handle it lived in.
        producerTopics.removeAll()
        producer = nil
        rd_kafka_mock_cluster_destroy(cluster)
    }

    private var producerTopics: [String: RdKafkaTopic] = [:]

    private func topicHandle(_ name: String) throws(StreamError) -> RdKafkaTopic {
        if let t = producerTopics[name] { return t }
        let t = try producer.topic(name)
        producerTopics[name] = t
        return t
    }

    /// Creates `name` with `partitions` partitions (replication factor 1).
    public func createTopic(_ name: String, partitions: Int) throws(StreamError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamError(.source, "cannot create topic \(name) on the embedded broker: \(rdKafkaErrorText(err))")
        }
    }

    /// Produces `messages` to `topic` (default partitioner) and waits until every one is delivered.
    public func produce(topic: String, messages: [(key: [UInt8]?, value: [UInt8])]) throws(StreamError) {
        let rkt = try topicHandle(topic)
        for m in messages {
            try produceOne(rkt, partition: RD_KAFKA_PARTITION_UA, key: m.key, value: m.value)
        }
        try producer.flushDeliveries(timeoutMs: 30_000)
    }

    /// Produces `values` to partition `partition` of `topic`, in order, and waits until every one is delivered.
    public func produce(topic: String, partition: Int32, values: [[UInt8]]) throws(StreamError) {
        var byPartition = Array(repeating: [[UInt8]](), count: Int(partition) + 1)
        byPartition[Int(partition)] = values
        try produce(topic: topic, byPartition: byPartition)
    }

    /// Produces `byPartition[p]` to partition `p` of `topic`, each in order, then waits once for every delivery
    /// (`wait`), or only serves the delivery reports that are in (a live feed that must keep its rate).
    public func produce(topic: String, byPartition: [[[UInt8]]], wait: Bool = true) throws(StreamError) {
        let rkt = try topicHandle(topic)
        for (p, values) in byPartition.enumerated() {
            for v in values { try produceOne(rkt, partition: Int32(p), key: nil, value: v) }
        }
        if wait {
            try producer.flushDeliveries(timeoutMs: 30_000)
        } else {
            rd_kafka_poll(producer.handle, 0)
        }
    }

    /// Produces every non-empty line of a JSON-lines file as one message, keyed by the value of
    /// `keyField` (nil: no key, rows spread round-robin), and waits for every delivery report.
    /// Refuses before producing anything when the data would not fit the mock cluster's retention.
    /// Returns the number of messages produced.
    public func load(jsonLines path: String, topic: String, keyField: String?) throws(StreamError) -> Int {
        let lines = try readLines(path)
        let partitions = try partitionCount(topic)
        // Keyed rows go where Kafka's Java client would put them (murmur2); unkeyed ones round-robin.
        var plan: [(key: ArraySlice<UInt8>?, line: ArraySlice<UInt8>, partition: Int32)] = []
        plan.reserveCapacity(lines.count)
        var usage = [MockRetention.Usage](repeating: MockRetention.Usage(), count: partitions)
        for (i, line) in lines.enumerated() {
            let key = keyField.flatMap { JSONKeyScan.value(of: $0, in: line) }
            if let problem = MockRetention.oversized(
                keyBytes: key?.count ?? 0, valueBytes: line.count, line: i + 1, topic: topic)
            {
                throw StreamError(.config, problem)
            }
            let p: Int32
            if let key {
                p = key.withUnsafeBytes { k in
                    rd_kafka_msg_partitioner_murmur2(nil, k.baseAddress, k.count, Int32(partitions), nil, nil)
                }
            } else {
                p = Int32(i % partitions)
            }
            usage[Int(p)].add(keyBytes: key?.count ?? 0, valueBytes: line.count)
            plan.append((key, line, p))
        }
        if let worst = usage.indices.max(by: { usage[$0].estimatedLogBytes < usage[$1].estimatedLogBytes }),
            let problem = MockRetention.refusal(for: usage[worst], partition: worst, of: partitions, topic: topic)
        {
            throw StreamError(.config, problem)
        }
        let rkt = try topicHandle(topic)
        for row in plan {
            try produceOne(rkt, partition: row.partition, key: row.key.map(Array.init), value: Array(row.line))
        }
        try producer.flushDeliveries(timeoutMs: 60_000)
        return plan.count
    }

    /// Whether the first non-empty line of a JSON-lines file has `field` (with a non-null value), so a key
    /// field that names nothing is refused instead of silently loading unkeyed messages.
    public static func firstRecord(ofJSONLines path: String, hasField field: String) -> Bool {
        guard let f = fopen(path, "rb") else { return true }  // the load itself reports the unreadable file
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0, let line {
            let bytes = Array(UnsafeRawBufferPointer(start: line, count: strlen(line)))
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { continue }
            return JSONKeyScan.value(of: field, in: bytes[...]) != nil
        }
        return true
    }

    /// Takes broker `id` (1-based) down: it closes its connections and refuses new ones.
    public func setBrokerDown(_ id: Int32) {
        _ = rd_kafka_mock_broker_set_down(cluster, id)
    }

    /// Brings broker `id` back up.
    public func setBrokerUp(_ id: Int32) {
        _ = rd_kafka_mock_broker_set_up(cluster, id)
    }

    /// Makes the next requests of `apiKey` (Fetch = 1, Produce = 0) fail with `errors`, one per request,
    /// in order (`rd_kafka_resp_err_t` codes, e.g. 6 NOT_LEADER_FOR_PARTITION, 7 REQUEST_TIMED_OUT).
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { buf in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buf.count, buf.baseAddress)
        }
    }

    private func produceOne(_ rkt: RdKafkaTopic, partition: Int32, key: [UInt8]?, value: [UInt8]) throws(StreamError) {
        let result: Result<Void, StreamError> = value.withUnsafeBytes { v in
            if let key {
                return key.withUnsafeBytes { k in
                    Result { () throws(StreamError) in
                        try producer.produce(topic: rkt.raw, partition: partition, key: k, value: v)
                    }
                }
            }
            return Result { () throws(StreamError) in
                try producer.produce(topic: rkt.raw, partition: partition, key: nil, value: v)
            }
        }
        try result.get()
        if let failure = producer.events.takeFailures().first { throw StreamError(.sink, failure) }
    }

    private func partitionCount(_ topic: String) throws(StreamError) -> Int {
        switch producer.partitionCounts(of: [topic], timeoutMs: 10_000) {
        case .success(let counts):
            guard let n = counts[topic] else {
                throw StreamError(.config, "topic \(topic) does not exist on the embedded broker; create it first")
            }
            return n
        case .failure(let error):
            throw StreamError(.brokerUnavailable, "cannot read metadata of the embedded broker: \(error.message)")
        }
    }

    private func readLines(_ path: String) throws(StreamError) -> [ArraySlice<UInt8>] {
        guard let f = fopen(path, "rb") else {
            throw StreamError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        if ferror(f) != 0 { throw StreamError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
        return data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
            .filter { !$0.isEmpty }
    }
}
