/// The retention of librdkafka's mock cluster (the embedded broker), as fixed in librdkafka 2.0.2
/// `rdkafka_mock.c`, `rd_kafka_mock_partition_init`: `max_size = 1024 * 1024 * 5`, `max_cnt = 100000`.
/// After each append, `rd_kafka_mock_msgset_new` drops the oldest message sets of the partition while
/// it holds more than `maxMessageSets` sets or more than `maxBytes` bytes of record batches
/// (always keeping the newest set). Nothing reports the loss: a consumer just sees the log start move.
/// `EmbeddedBrokerTests.retentionDropsOldestBeyondFiveMiB` measures it through the Kafka protocol.
public enum MockRetention {
    /// Bytes of record batches (v2 message sets, headers included) one partition keeps.
    public static let maxBytes = 5 * 1024 * 1024
    /// Message sets (producer batches) one partition keeps.
    public static let maxMessageSets = 100_000

    /// Upper bound of one record's framing inside a v2 batch (length, attributes, timestamp delta,
    /// offset delta, key and value lengths, header count) for records below 2 MiB.
    static let recordOverheadBytes = 24
    /// A v2 record batch header.
    static let batchHeaderBytes = 61
    /// The loader's producer caps a batch at this many records (`batch.num.messages`).
    static let recordsPerBatch = 10_000

    /// What one partition of a load would hold.
    struct Usage {
        var rows = 0
        var payloadBytes = 0

        mutating func add(keyBytes: Int, valueBytes: Int) {
            rows += 1
            payloadBytes += keyBytes + valueBytes
        }

        /// Bytes the partition's log would hold. Batches fill to `recordsPerBatch` when loading as
        /// fast as the producer can; each batch adds its header.
        var estimatedLogBytes: Int {
            let batches = (rows + MockRetention.recordsPerBatch - 1) / MockRetention.recordsPerBatch
            return payloadBytes + rows * MockRetention.recordOverheadBytes + batches * MockRetention.batchHeaderBytes
        }
    }

    /// The message refusing a load whose busiest partition would overflow retention, or nil if it fits.
    static func refusal(for usage: Usage, partition: Int, of partitions: Int, topic: String) -> String? {
        let need = usage.estimatedLogBytes
        guard need > maxBytes else { return nil }
        let fitPartitions = partitions * ((need + maxBytes - 1) / maxBytes)
        return "loading \(topic) would overflow the embedded broker's retention: partition \(partition) of "
            + "\(partitions) would hold \(usage.rows) rows, about \(need) bytes, but the embedded broker keeps at "
            + "most \(maxBytes) bytes (5 MiB) per partition and silently drops the oldest beyond that; "
            + "use more partitions (at least \(fitPartitions): `--partitions` on `run`, `--topic NAME:N` on "
            + "`dev-broker`) or a smaller file"
    }

    /// The message refusing a record that alone exceeds a partition's retention (no partition count helps),
    /// or nil when it fits.
    static func oversized(keyBytes: Int, valueBytes: Int, line: Int, topic: String) -> String? {
        let need = keyBytes + valueBytes + recordOverheadBytes + batchHeaderBytes
        guard need > maxBytes else { return nil }
        return
            "record \(line) of the file is one message of about \(need) bytes, more than the \(maxBytes) bytes (5 MiB) the "
            + "embedded broker keeps per partition of \(topic): no number of partitions can hold it; "
            + "use a real Kafka broker for messages this large, or split the record"
    }
}

/// Finds the value of one top-level-looking field in a JSON object without parsing the whole line:
/// enough to key messages by a field. Strings give their unescaped-as-written bytes, other values
/// their literal text (`42`, `true`); nil when the field is absent or `null`.
enum JSONKeyScan {
    static func value(of field: String, in line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let needle = Array("\"\(field)\"".utf8)
        var i = line.startIndex
        while let start = find(needle, in: line, from: i) {
            var j = start + needle.count
            j = skipSpace(line, j)
            guard j < line.endIndex, line[j] == UInt8(ascii: ":") else {
                i = start + 1
                continue
            }
            j = skipSpace(line, j + 1)
            guard j < line.endIndex else { return nil }
            if line[j] == UInt8(ascii: "\"") {
                var k = j + 1
                while k < line.endIndex && line[k] != UInt8(ascii: "\"") {
                    k += line[k] == UInt8(ascii: "\\") ? 2 : 1
                }
                return line[(j + 1)..<min(k, line.endIndex)]
            }
            var k = j
            while k < line.endIndex, !",}] \t".utf8.contains(line[k]) { k += 1 }
            let literal = line[j..<k]
            return literal.elementsEqual("null".utf8) || literal.isEmpty ? nil : literal
        }
        return nil
    }

    private static func skipSpace(_ line: ArraySlice<UInt8>, _ from: Int) -> Int {
        var j = from
        while j < line.endIndex, line[j] == UInt8(ascii: " ") || line[j] == UInt8(ascii: "\t") { j += 1 }
        return j
    }

    private static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>, from: Int) -> Int? {
        guard hay.endIndex - from >= needle.count else { return nil }
        var i = from
        while i <= hay.endIndex - needle.count {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
