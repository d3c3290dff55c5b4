import Foundation
import StreamCore
import StreamPipeline
import Testing

@testable import StreamRunner

/// librdkafka fixes a consumer's fetch settings when it is created: a switch that changes them reopens each
/// source reader where it is, and the output is what an unswitched run writes.
@Suite(.serialized) struct FreshnessSwitchTests {
    func yaml(_ dir: URL) -> String {
        """
        name: fresh
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          kafka: { brokers: embedded, topics: [orders], group: g, start_from: earliest, assignment: static }
          format: json
        operators:
          - filter: "amount > 100"
          - select: [order_id, amount]
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: memory }
        checkpoints: { dir: \(dir.path)/checkpoints, retain: 2 }
        """
    }

    func lines(_ dir: URL) throws -> [String] {
        var out: [String] = []
        for case let f as String in FileManager.default.enumerator(atPath: dir.path + "/out") ?? .init()
        where (f as NSString).lastPathComponent.hasPrefix("part-") {
            out += try String(contentsOfFile: dir.path + "/out/" + f, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        return out.sorted()
    }

    @Test func switchingFetchWaitReopensEachSourceReaderAndChangesNoRow() throws {
        let a = FileManager.default.temporaryDirectory.appendingPathComponent("fresh-\(UUID().uuidString)")
        let b = FileManager.default.temporaryDirectory.appendingPathComponent("fresh-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let options = RunOptions(
            bound: .caughtUp, embeddedFill: EmbeddedFill(partitions: 4, generateRows: 20_000), bindArenas: false)
        var backfill = Profile.builtIn["backfill"]!
        backfill.checkpointIntervalMs = 200
        let plain = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml(a), file: "a.yaml"), profile: backfill, options: options)
        #expect(try plain.run().failure == nil)
        let expected = try lines(a)
        #expect(expected.count > 1_000)

        let runner = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml(b), file: "b.yaml"), profile: backfill, options: options)
        try runner.start()
        // Before `wait()` supervises, the run cannot end: the switch meets running sources. Each source worker
        // has polled once (its reader's figures are in) before the switch, so each sees the change.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline,
            (runner.snapshot()?.workers.filter { $0.stage == "source" && $0.extra["kafka_fetch_wait_max_ms"] == 500 }
                .count ?? 0) < backfill.parallelism
        {
            usleep(1_000)
        }
        var steady = Profile.builtIn["steady"]!
        steady.parallelism = backfill.parallelism
        let record = try runner.switchProfile(to: steady, reason: "test")
        #expect(record.changes.contains { $0.knob == "kafka.fetch_wait_max" && $0.old == "500ms" && $0.new == "5ms" })
        let outcome = runner.wait()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let sources = outcome.summary.snapshot?.workers.filter { $0.stage == "source" } ?? []
        #expect(sources.count == backfill.parallelism)
        #expect(sources.allSatisfy { $0.extra["source_reopened"] == 1 })
        #expect(sources.allSatisfy { $0.extra["kafka_fetch_wait_max_ms"] == 5 })
        #expect(try lines(b) == expected)
    }
}

/// A throttled run can never be faster than its budget allows; the upper bound is only there to catch a
/// throttle that never lets go.
@Suite(.serialized) struct ThrottledRunTests {
    @Test(arguments: [1, 2])
    func runWithASinkThrottleTakesAtLeastWhatTheBudgetAllows(_ parallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("throttle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try PipelineLoader.load(
            yaml: """
                name: throttled
                schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
                source:
                  generator: { seed: 3, rows: 6000, keys: 20, splits: 2 }
                operators:
                  - select: [order_id, shop]
                sink:
                  file: { path: \(dir.path), format: json }
                """, file: "t.yaml")
        let profile = Profile(name: "t", parallelism: parallelism, batchSize: 200, sinkRecordsPerSecond: 2_000)
        let runner = JobRunner(spec: spec, profile: profile, options: RunOptions(bindArenas: false))
        let started = Date()
        let outcome = try runner.run()
        let elapsed = Date().timeIntervalSince(started)
        #expect(outcome.failure == nil)
        #expect(outcome.summary.json.contains("\"rows_in\":6000"))
        // 6,000 rows at 2,000/s with one second of burst: at least two seconds, whatever the split of rows.
        #expect(elapsed >= 1.95, "\(elapsed) s")
        #expect(elapsed < 60)
        let throttled = outcome.summary.snapshot?.workers.filter { $0.stage == "sink" }
            .reduce(0) { $0 + ($1.extra["throttled_ms"] ?? 0) } ?? 0
        #expect(throttled >= 1_900 * Int64(1))
    }
}
