internal import CRdKafka
import StreamCore
import Synchronization

/// What librdkafka reports through its callbacks: client errors, delivery reports, rebalances.
/// Error and delivery callbacks run on the thread that polls; the figures are read from others.
final class RdKafkaEvents: @unchecked Sendable {
    struct Figures {
        /// The last transport-level error (names the broker address and the socket error).
        var lastTransportError: String?
        var lastError: String?
        /// Since when (monotonic ns) librdkafka has said every broker is down; nil while one is up.
        var allBrokersDownSince: UInt64?
        var delivered: Int64 = 0
        var failedDeliveries: Int64 = 0
        /// Delivery failures not yet reported to the caller.
        var pendingFailures: [String] = []
    }

    let figures = Mutex(Figures())
    /// The group has handed this consumer an assignment at least once.
    let assignedOnce = Atomic<Bool>(false)
    /// Called on the polling thread for every rebalance; set before polling starts.
    var rebalance:
        ((OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?

    func recordError(code: Int32, text: String) {
        figures.withLock { f in
            f.lastError = text
            if code == RD_KAFKA_RESP_ERR__TRANSPORT.rawValue || code == RD_KAFKA_RESP_ERR__RESOLVE.rawValue {
                f.lastTransportError = text
            }
            if code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue {
                if f.allBrokersDownSince == nil { f.allBrokersDownSince = monotonicNow() }
            }
        }
    }

    func clearBrokersDown() { figures.withLock { $0.allBrokersDownSince = nil } }

    func recordDelivered() { figures.withLock { $0.delivered += 1 } }

    func recordDeliveryFailure(_ message: String) {
        figures.withLock { f in
            f.failedDeliveries += 1
            if f.pendingFailures.count < 100 { f.pendingFailures.append(message) }
        }
    }

    /// Removes and returns the delivery failures seen since the last call.
    func takeFailures() -> [String] {
        figures.withLock { f in
            let out = f.pendingFailures
            f.pendingFailures.removeAll()
            return out
        }
    }

    /// The most telling error text librdkafka gave, for messages.
    var bestErrorText: String? {
        figures.withLock { $0.lastTransportError ?? $0.lastError }
    }
}

func monotonicNow() -> UInt64 { SystemClock().monotonicNs() }

/// A librdkafka client handle (`rd_kafka_new` / `rd_kafka_destroy`). Owns its handle and keeps the
/// callback target alive for as long as the handle exists.
final class RdKafkaClient {
    let handle: OpaquePointer  // rd_kafka_t*
    let events: RdKafkaEvents
    let isConsumer: Bool
    /// Set once the consumer has joined a group and must leave it on destroy.
    var needsConsumerClose = false

    init(consumer: Bool, config: RdKafkaConfig, events: RdKafkaEvents) throws(StreamError) {
        config.attach(events)
        var errstr = [CChar](repeating: 0, count: 512)
        let conf = config.take()
        guard let rk = rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, &errstr, errstr.count)
        else {
            config.restore(conf)  // not taken on failure
            let message = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw StreamError(.config, "cannot create Kafka \(consumer ? "consumer" : "producer"): \(message)")
        }
        self.handle = rk
        self.events = events
        self.isConsumer = consumer
    }

    deinit {
        closeConsumer()
        if keepHandle {
            // Its callbacks may still run: their target stays too.
            _ = Unmanaged.passRetained(events)
            KafkaLog.emit(
                level: 7, facility: "CLOSE",
                message: "consumer closed before its first assignment: handle kept (librdkafka issue #4312)")
            return
        }
        // A consumer that never joined must not try to leave a group it cannot reach; one that left has.
        rd_kafka_destroy_flags(handle, isConsumer ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0)
    }

    /// Set when the consumer left its group before its first assignment: `rd_kafka_destroy` would abort.
    private var keepHandle = false

    /// Leaves the group (`rd_kafka_consumer_close`), once; nothing for a consumer that never joined one.
    ///
    /// librdkafka before 2.3.0 asserts in `rd_kafka_destroy` when a cooperative-sticky member joined its group
    /// but got no assignment yet (the assignor's state is still NULL: librdkafka issue #4312), which aborts the
    /// process. A consumer closed in that window (mid-rebalance) leaves the group and its handle is kept.
    func closeConsumer() {
        guard isConsumer && needsConsumerClose else { return }
        needsConsumerClose = false
        keepHandle = Self.destroyAssertsBeforeFirstAssignment && hasMemberId
            && !events.assignedOnce.load(ordering: .acquiring)
        _ = rd_kafka_consumer_close(handle)
    }

    /// The sticky assignor's NULL-state assertion was fixed in librdkafka 2.3.0.
    static let destroyAssertsBeforeFirstAssignment = rd_kafka_version() < 0x0203_0000

    /// The group coordinator gave this consumer a member id (it sent a JoinGroup).
    var hasMemberId: Bool {
        guard let id = rd_kafka_memberid(handle) else { return false }
        defer { rd_kafka_mem_free(handle, id) }
        return id.pointee != 0
    }

    /// Partition counts of `topics` from a metadata request, or the failure's error code.
    func partitionCounts(of topics: [String], timeoutMs: Int32) -> Result<[String: Int], StreamError> {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let md = metadata else {
            return .failure(StreamError(.brokerUnavailable, rdKafkaErrorText(err)))
        }
        defer { rd_kafka_metadata_destroy(md) }
        var counts: [String: Int] = [:]
        for i in 0..<Int(md.pointee.topic_cnt) {
            let t = md.pointee.topics[i]
            let name = String(cString: t.topic)
            if topics.contains(name) && t.err == RD_KAFKA_RESP_ERR_NO_ERROR { counts[name] = Int(t.partition_cnt) }
        }
        return .success(counts)
    }

    /// Low and high watermarks asked of the partition leader.
    func queryWatermarks(topic: String, partition: Int32, timeoutMs: Int32) throws(StreamError) -> (Int64, Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamError(.source, "cannot read offsets of \(topic)[\(partition)]: \(rdKafkaErrorText(err))")
        }
        return (low, high)
    }

    /// Watermarks from the last fetch response, without a request; nil when none arrived yet.
    func cachedWatermarks(topic: String, partition: Int32) -> (Int64, Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }
}

/// A consumer handle: a group member that reads assigned partitions.
typealias RdKafkaConsumer = RdKafkaClient

/// A producer handle with delivery reports routed to its events.
typealias RdKafkaProducer = RdKafkaClient

extension RdKafkaClient {
    /// A consumer with error and rebalance callbacks installed.
    static func consumer(properties: [(String, String)], extra: [String: String]) throws(StreamError)
        -> RdKafkaConsumer
    {
        let config = RdKafkaConfig()
        for (k, v) in properties { try config.set(k, v) }
        try config.set(extra)
        config.installCallbacks(deliveryReports: false)
        config.installRebalanceCallback()
        return try RdKafkaClient(consumer: true, config: config, events: RdKafkaEvents())
    }

    /// A producer with error and delivery-report callbacks installed.
    static func producer(properties: [(String, String)], extra: [String: String]) throws(StreamError)
        -> RdKafkaProducer
    {
        let config = RdKafkaConfig()
        for (k, v) in properties { try config.set(k, v) }
        try config.set(extra)
        config.installCallbacks(deliveryReports: true)
        return try RdKafkaClient(consumer: false, config: config, events: RdKafkaEvents())
    }

    /// Produces one message, polling for delivery reports while the local queue is full.
    func produce(
        topic: OpaquePointer, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer
    ) throws(StreamError) {
        while true {
            let rc = rd_kafka_produce(
                topic, partition, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: value.baseAddress),
                value.count, key?.baseAddress, key?.count ?? 0, nil)
            if rc == 0 { return }
            let err = rd_kafka_last_error()
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                let name = String(cString: rd_kafka_topic_name(topic))
                throw StreamError(.sink, "cannot produce to \(name): \(rdKafkaErrorText(err))")
            }
            // Bounded in flight: serve delivery reports until there is room again.
            rd_kafka_poll(handle, 100)
        }
    }

    /// Waits for every outstanding delivery; throws the first failed delivery's message.
    func flushDeliveries(timeoutMs: Int32) throws(StreamError) {
        let err = rd_kafka_flush(handle, timeoutMs)
        if let failure = events.takeFailures().first { throw StreamError(.sink, failure) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let left = rd_kafka_outq_len(handle)
            throw StreamError(
                .sink,
                "flush gave up after \(timeoutMs) ms with \(left) messages undelivered: "
                    + (events.bestErrorText ?? rdKafkaErrorText(err)))
        }
    }

    /// A topic handle (`rd_kafka_topic_new` / `rd_kafka_topic_destroy`) for producing.
    func topic(_ name: String) throws(StreamError) -> RdKafkaTopic {
        guard let rkt = rd_kafka_topic_new(handle, name, nil) else {
            throw StreamError(.sink, "cannot open topic \(name): \(rdKafkaErrorText(rd_kafka_last_error()))")
        }
        return RdKafkaTopic(raw: rkt, client: self)
    }
}

/// A producer's topic handle; keeps its client alive so it is destroyed first.
final class RdKafkaTopic {
    let raw: OpaquePointer  // rd_kafka_topic_t*
    private let client: RdKafkaClient

    init(raw: OpaquePointer, client: RdKafkaClient) {
        self.raw = raw
        self.client = client
    }

    deinit { rd_kafka_topic_destroy(raw) }
}
