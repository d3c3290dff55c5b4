internal import CRdKafka
import StreamCore

/// A librdkafka configuration (`rd_kafka_conf_new` / `rd_kafka_conf_destroy`).
/// `rd_kafka_new` takes ownership of the pointer only when it succeeds; `take()` hands it over.
final class RdKafkaConfig {
    private var raw: OpaquePointer?  // rd_kafka_conf_t*, nil once handed to rd_kafka_new

    init() {
        raw = rd_kafka_conf_new()
        KafkaLog.install(on: raw!)
    }

    deinit {
        if let raw { rd_kafka_conf_destroy(raw) }
    }

    /// Sets one property; librdkafka's own message explains a refusal.
    func set(_ key: String, _ value: String) throws(StreamError) {
        precondition(raw != nil, "configuration already handed to a client")
        var errstr = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(raw, key, value, &errstr, errstr.count)
        guard result == RD_KAFKA_CONF_OK else {
            let shown = RdKafkaConfig.isSecret(key) ? "***" : value
            let message = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw StreamError(.config, "Kafka property `\(key)=\(shown)` refused: \(message)")
        }
    }

    /// Sets every property, in key order so a failure is reproducible.
    func set(_ properties: [String: String]) throws(StreamError) {
        for key in properties.keys.sorted() { try set(key, properties[key]!) }
    }

    /// Attaches `events` as the opaque pointer callbacks receive. The client keeps `events` alive.
    func attach(_ events: RdKafkaEvents) {
        rd_kafka_conf_set_opaque(raw, Unmanaged.passUnretained(events).toOpaque())
    }

    /// Installs the error and, for producers, delivery-report callbacks.
    func installCallbacks(deliveryReports: Bool) {
        rd_kafka_conf_set_error_cb(raw) { _, err, reason, opaque in
            guard let opaque else { return }
            let events = Unmanaged<RdKafkaEvents>.fromOpaque(opaque).takeUnretainedValue()
            events.recordError(code: err, text: reason.map { String(cString: $0) } ?? "")
        }
        if deliveryReports {
            rd_kafka_conf_set_dr_msg_cb(raw) { _, message, opaque in
                guard let opaque, let message else { return }
                let events = Unmanaged<RdKafkaEvents>.fromOpaque(opaque).takeUnretainedValue()
                let m = message.pointee
                if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    events.recordDelivered()
                } else {
                    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
                    let text = String(cString: rd_kafka_err2str(m.err))
                    events.recordDeliveryFailure("delivery to \(topic)[\(m.partition)] failed: \(text)")
                }
            }
        }
    }

    /// Installs the rebalance callback; it forwards to `events.rebalance`.
    func installRebalanceCallback() {
        rd_kafka_conf_set_rebalance_cb(raw) { rk, err, partitions, opaque in
            guard let opaque, let rk, let partitions else { return }
            let events = Unmanaged<RdKafkaEvents>.fromOpaque(opaque).takeUnretainedValue()
            if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS { events.assignedOnce.store(true, ordering: .releasing) }
            if let handler = events.rebalance {
                handler(rk, err, partitions)
            } else if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                _ = rd_kafka_assign(rk, partitions)
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
        }
    }

    /// Hands the pointer over; the caller gives it to `rd_kafka_new` and calls `restore` if that fails.
    func take() -> OpaquePointer {
        let r = raw!
        raw = nil
        return r
    }

    func restore(_ pointer: OpaquePointer) { raw = pointer }

    static func isSecret(_ key: String) -> Bool {
        key.contains("password") || key.contains("secret") || key.contains("sasl.oauthbearer.config")
    }
}

/// librdkafka's text for an error code.
func rdKafkaErrorText(_ err: rd_kafka_resp_err_t) -> String {
    String(cString: rd_kafka_err2str(err))
}
