import StreamCore
import Synchronization

/// A topic partition, the unit a Kafka source tracks its position in.
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Reads Kafka topics with one consumer-group member per source worker. All workers join
/// `spec.group`; librdkafka's assignor spreads the partitions (cooperative-sticky unless the
/// properties choose another strategy). Offsets are tracked by the job, never auto-committed.
public struct KafkaSourceConnector: SourceConnector {
    /// A nullable timestamp field of this name in the source schema receives each message's Kafka timestamp.
    public static let timestampField = "kafka_timestamp"

    public let spec: KafkaSourceSpec
    /// The resolved bootstrap servers (e.g. the embedded broker's address for `embedded`).
    public let bootstrap: String
    let decoderFactory: @Sendable (Schema) -> any RecordDecoder
    let eventTimeFromKafkaTimestamp: Bool
    /// What all readers together may prefetch (`KafkaPrefetch`); nil leaves the profile's bound alone.
    let prefetchBudgetBytes: Int64?
    let shared: KafkaSourceShared

    public init(
        spec: KafkaSourceSpec, bootstrap: String, decoderFactory: @escaping @Sendable (Schema) -> any RecordDecoder,
        eventTimeFromKafkaTimestamp: Bool, prefetchBudgetBytes: Int64? = nil
    ) {
        self.prefetchBudgetBytes = prefetchBudgetBytes
        self.spec = spec
        self.bootstrap = bootstrap
        self.decoderFactory = decoderFactory
        self.eventTimeFromKafkaTimestamp = eventTimeFromKafkaTimestamp
        self.shared = KafkaSourceShared()
    }

    /// Partitions are known only once a reader has fetched metadata; 0 before.
    public var splitCount: Int { shared.state.withLock { $0.partitionCounts.values.reduce(0, +) } }
    /// Static assignment resumes each partition where a checkpoint left it; group mode records the
    /// partitions a worker owned at the barrier and seeks a partition it is later given to that position.
    public var resumable: Bool { true }

    public func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        try KafkaSourceReader(connector: self, context: context)
    }

    /// Split id of a partition: `topicIndex << 20 | partition`.
    static func splitID(topicIndex: Int, partition: Int32) -> Int { topicIndex << 20 | Int(partition) }
}

/// What the readers of one source share: partition counts, end offsets of a bounded run, who owns
/// which partition, and positions handed over when a partition moves between readers.
final class KafkaSourceShared: Sendable {
    struct State {
        var partitionCounts: [String: Int] = [:]
        /// `--until caught-up`: end offsets (high watermarks) sampled once when the first reader opens.
        var endOffsets: [TopicPartition: Int64]?
        /// Partitions currently assigned to a reader of this process, by worker index.
        var owners: [TopicPartition: Int] = [:]
        /// Partitions that reached their end offset in a bounded run.
        var finished: Set<TopicPartition> = []
        /// Positions of partitions revoked from a reader; the next owner resumes there.
        var handoff: [TopicPartition: Int64] = [:]

        var allPartitions: [TopicPartition] {
            partitionCounts.sorted { $0.key < $1.key }.flatMap { topic, n in
                (0..<n).map { TopicPartition(topic: topic, partition: Int32($0)) }
            }
        }
    }

    let state = Mutex(State())
}
