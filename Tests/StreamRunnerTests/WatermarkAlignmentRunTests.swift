import Foundation
import StreamCore
import StreamKafka
import StreamPipeline
import Testing

@testable import StreamRunner

/// Watermark alignment on the embedded broker: partition 0 holds ten times fewer rows per hour of event time
/// than partition 1, so read at the same row rate it runs ahead; with `max_drift` it is paused until
/// partition 1 catches up, and the output is what the unaligned run writes.
@Suite(.serialized) struct WatermarkAlignmentRunTests {
    static let t0: Int64 = 1_795_000_000_000

    func yaml(_ dir: URL) -> String {
        """
        name: aligned
        schema: { id: int64, shop: string, ts: timestamp }
        source:
          kafka: { brokers: embedded, topics: [events], group: g, start_from: earliest, assignment: static }
          format: json
          event_time: { field: ts, max_disorder: 0s }
        operators:
          - key_by: shop
          - window: { tumbling: 1h, aggregate: { n: count(), last: max(id) } }
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: memory }
        checkpoints: { dir: \(dir.path)/checkpoints, retain: 1000 }
        """
    }

    func filledBroker() throws -> EmbeddedBroker {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: 2)
        func rows(_ n: Int, stepMs: Int64, idBase: Int) -> [[UInt8]] {
            (0..<n).map { i in
                Array("{\"id\":\(idBase + i),\"shop\":\"s\(i % 5)\",\"ts\":\(Self.t0 + Int64(i) * stepMs)}".utf8)
            }
        }
        try broker.produce(topic: "events", partition: 0, values: rows(1_000, stepMs: 60_000, idBase: 0))
        try broker.produce(topic: "events", partition: 1, values: rows(10_000, stepMs: 6_000, idBase: 1_000_000))
        return broker
    }

    func lines(_ dir: URL) throws -> [String] {
        var out: [String] = []
        for case let f as String in FileManager.default.enumerator(atPath: dir.path + "/out") ?? .init()
        where (f as NSString).lastPathComponent.hasPrefix("part-") {
            out += try String(contentsOfFile: dir.path + "/out/" + f, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        return out.sorted()
    }

    func run(drift: Int64?, parallelism: Int, dir: URL) throws -> (RunOutcome, CheckpointStore) {
        var profile = Profile(name: "test", parallelism: parallelism, batchSize: 64, checkpointIntervalMs: 50)
        profile.watermarkMaxDriftMs = drift
        let runner = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml(dir), file: "a.yaml"), profile: profile,
            options: RunOptions(bound: .caughtUp, bindArenas: false))
        runner.broker = try filledBroker()
        let outcome = try runner.run()
        return (outcome, runner.checkpointStore!)
    }

    @Test(arguments: [1, 2])
    func partitionRunningAheadIsPausedAndResumedAndTheOutputIsUnchanged(_ parallelism: Int) throws {
        let a = FileManager.default.temporaryDirectory.appendingPathComponent("align-\(UUID().uuidString)")
        let b = FileManager.default.temporaryDirectory.appendingPathComponent("align-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let (plain, _) = try run(drift: nil, parallelism: parallelism, dir: a)
        #expect(plain.failure == nil, "\(plain.failure?.message ?? "")")
        let expected = try lines(a)
        // 1000 minutes of event time in hourly windows for five shops.
        #expect(expected.count >= 5 * 16)

        let (aligned, store) = try run(drift: 300_000, parallelism: parallelism, dir: b)
        #expect(aligned.failure == nil, "\(aligned.failure?.message ?? "")")
        #expect(try lines(b) == expected)
        let sources = aligned.summary.snapshot?.workers.filter { $0.stage == "source" } ?? []
        let pauses = sources.reduce(0) { $0 + ($1.extra["aligned_pauses"] ?? 0) }
        let resumes = sources.reduce(0) { $0 + ($1.extra["aligned_resumes"] ?? 0) }
        #expect(resumes <= pauses)
        guard parallelism == 1 else { return }
        // One reader holds both partitions: it knows partition 1 has data before it delivers any, so
        // partition 0 is paused at its first batch and resumed as partition 1 catches up.
        #expect(pauses >= 1 && resumes >= 1)
        // At every checkpoint the partitions' event times are within the bound (the drift, or twice a poll's
        // step: 64 rows of partition 0 are 64 minutes) plus one more poll of each other; unaligned, partition 0
        // is read to its end (1000 minutes) first.
        var spreads: [Int64] = []
        for id in store.ids() {
            let times = try store.manifest(id).progress.eventTimes
            if let x = times[0], let y = times[1] { spreads.append(abs(x - y)) }
        }
        #expect(!spreads.isEmpty)
        #expect(spreads.allSatisfy { $0 <= 3 * 64 * 60_000 }, "\(spreads.max() ?? 0)")
    }
}
