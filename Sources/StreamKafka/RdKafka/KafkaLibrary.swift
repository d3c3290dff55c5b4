internal import CRdKafka

/// Facts about the linked librdkafka, for `streamctl info`.
public enum KafkaLibrary {
    /// The run-time library's version, e.g. `2.3.0`.
    public static var version: String { String(cString: rd_kafka_version_str()) }
}
