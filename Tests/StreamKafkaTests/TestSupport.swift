import Foundation
import StreamCore
import StreamKafka
import Synchronization

/// The rows the tests produce: `{"id":N,"name":"row-N","ts":T}`.
let testSchema = Schema([Field("id", .int64), Field("name", .string), Field("ts", .timestamp)])

func jsonLine(_ id: Int) -> String { "{\"id\":\(id),\"name\":\"row-\(id)\",\"ts\":\(1_700_000_000_000 + id)}" }

/// A small decoder for the test rows (the job's JSON decoder lives elsewhere).
struct TestJSONDecoder: RecordDecoder {
    let schema: Schema

    mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError) {
        let data = Data(bytes)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw DecodeError("not a JSON object", at: 0)
        }
        var columns = batch.columns
        for (i, field) in schema.fields.enumerated() {
            switch field.type.storage {
            case .int64:
                guard let n = object[field.name] as? NSNumber, !(object[field.name] is String) else {
                    throw DecodeError("field `\(field.name)`: expected \(field.type)", at: 0)
                }
                columns[i].int64s.append(n.int64Value)
            case .string:
                guard let s = object[field.name] as? String else {
                    throw DecodeError("field `\(field.name)`: expected string", at: 0)
                }
                columns[i].strings.append(s)
            default:
                throw DecodeError("unsupported type", at: 0)
            }
        }
        batch.columns = columns
        batch.commitRow()
    }
}

func makeContext(
    worker: Int = 0, workers: Int = 1, policy: BadRecordPolicy = .fail, bounded: SourceBound = .caughtUp,
    badRecords: BadRecordHandler? = nil
) throws -> SourceContext {
    let spec = SourceSpec(
        kind: .generator(GeneratorSpec()), eventTime: EventTimeSpec(field: "ts"), onBadRecord: policy)
    return SourceContext(
        worker: worker, workers: workers, schema: testSchema, spec: spec, profile: Profile(name: "test"),
        badRecords: try badRecords ?? BadRecordHandler(policy: policy), bounded: bounded)
}

/// Group settings that let the embedded broker settle a group within a second or two.
let quickGroup = ["session.timeout.ms": "3000", "heartbeat.interval.ms": "200"]

func sourceConnector(
    _ broker: EmbeddedBroker, topics: [String], group: String = "g", start: StartPosition = .earliest,
    properties: [String: String] = quickGroup
) -> KafkaSourceConnector {
    KafkaSourceConnector(
        spec: KafkaSourceSpec(
            brokers: "embedded", topics: topics, group: group, startFrom: start, properties: properties),
        bootstrap: broker.bootstrapServers, decoderFactory: { TestJSONDecoder(schema: $0) },
        eventTimeFromKafkaTimestamp: false)
}

/// The (id, name) pairs of a batch.
func rows(of batch: Batch) -> [(Int64, String)] {
    (0..<batch.count).map { (batch.columns[0].int64s[$0], batch.columns[1].strings.string(at: $0)) }
}

struct ReadResult {
    var ids: [Int64] = []
    var perReader: [Int] = []
    var maxEventTime: Int64?
}

/// Polls `reader` until it has read at least `n` rows (or `seconds` pass); returns their ids.
func read(_ reader: any SourceReader, atLeast n: Int, maxRows: Int, seconds: Double = 60) throws -> [Int64] {
    var ids: [Int64] = []
    var batch = Batch(schema: testSchema)
    let deadline = Date().addingTimeInterval(seconds)
    while ids.count < n && Date() < deadline {
        _ = try reader.poll(into: &batch, maxRows: maxRows, timeoutMs: 100)
        ids += rows(of: batch).map(\.0)
        batch.removeAll()
    }
    return ids
}

/// Polls every reader in turn until all report finished (or `seconds` pass), collecting ids.
func readToEnd(_ readers: [any SourceReader], maxRows: Int = 100, seconds: Double = 20) throws -> ReadResult {
    var result = ReadResult(perReader: Array(repeating: 0, count: readers.count))
    var done = Array(repeating: false, count: readers.count)
    let deadline = Date().addingTimeInterval(seconds)
    while done.contains(false) && Date() < deadline {
        for (i, reader) in readers.enumerated() where !done[i] {
            var batch = Batch(schema: testSchema)
            let poll = try reader.poll(into: &batch, maxRows: maxRows, timeoutMs: 50)
            for (id, name) in rows(of: batch) {
                precondition(name == "row-\(id)")
                result.ids.append(id)
            }
            result.perReader[i] += batch.count
            for s in poll.splits {
                if let t = s.maxEventTime { result.maxEventTime = max(result.maxEventTime ?? t, t) }
            }
            if poll.finished { done[i] = true }
        }
    }
    return result
}

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "streamkafka-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }
}

/// Runs kcat and returns its standard output; throws with its standard error when it fails.
@discardableResult
func kcat(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw StreamError(
            .io, "kcat \(arguments.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
}

/// Produces `ids` with kcat as `key:value` lines (key = id).
func kcatProduce(_ broker: EmbeddedBroker, topic: String, ids: Range<Int>, dir: TempDir) throws {
    let text = ids.map { "k\($0):" + jsonLine($0) }.joined(separator: "\n") + "\n"
    let file = dir.write("\(topic).txt", text)
    try kcat(["-P", "-b", broker.bootstrapServers, "-t", topic, "-K:", "-l", file])
}

/// A clock that moves only when told to, or when a sink throttle sleeps on it.
final class ManualClock: SleepingClock, Sendable {
    private let ns = Atomic<UInt64>(1_000_000_000)

    func nowMs() -> Int64 { 1_700_000_000_000 + Int64((ns.load(ordering: .relaxed) - 1_000_000_000) / 1_000_000) }
    func monotonicNs() -> UInt64 { ns.load(ordering: .relaxed) }
    func sleep(nanoseconds: UInt64) { ns.add(nanoseconds, ordering: .relaxed) }
}
