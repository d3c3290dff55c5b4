import Foundation
import Synchronization
import StreamCore
import StreamPipeline
import Testing

@testable import StreamRunner

/// A running job switched between profiles — parallelism changes included — writes exactly what an
/// unswitched run writes, with checkpoints on (a switch's barrier is a checkpoint too). A profile that changes
/// several operators' parallelism applies all of it at one barrier.
@Suite(.serialized) struct ProfileSwitchTests {
    func yaml(_ dir: URL) -> String {
        """
        name: switching
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 12, rows: 80000, rate: 20000, keys: 500, skew: 1.1, splits: 4, step: 1s, disorder: 2s, start_time: "2026-11-27T00:00:00Z" }
          event_time: { field: ts, max_disorder: 5s }
        operators:
          - dedupe: { key: order_id, ttl: 30d }
            id: once
          - filter: "amount >= 0"
            id: valid
          - key_by: shop
          - window: { tumbling: 10m, aggregate: { orders: count(), revenue: sum(amount) } }
            id: w
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 64MiB }
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

    func profile(_ name: String, parallelism: Int) -> Profile {
        var p = Profile.builtIn[name]!
        p.parallelism = parallelism
        p.checkpointIntervalMs = 200
        return p
    }

    @Test func backfillToSteadyToSeasonalToSteadyWithParallelism4To1To2To1EqualsAnUnswitchedRun() throws {
        let a = FileManager.default.temporaryDirectory.appendingPathComponent("switch-\(UUID().uuidString)")
        let b = FileManager.default.temporaryDirectory.appendingPathComponent("switch-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let plain = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml(a), file: "a.yaml"), profile: profile("steady", parallelism: 1),
            options: RunOptions(bindArenas: false))
        #expect(try plain.run().failure == nil)
        let expected = try lines(a)
        #expect(expected.count > 1_000)

        let runner = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml(b), file: "b.yaml"), profile: profile("backfill", parallelism: 4),
            options: RunOptions(bindArenas: false))
        try runner.start()
        // Paced at 20,000 rows/s: the last switch starts about 1.3 s before the input ends.
        let steps: [(String, Int, Int)] = [("steady", 1, 15_000), ("seasonal", 2, 35_000), ("steady", 1, 55_000)]
        let switching = Thread {
            for (name, p, after) in steps {
                while (runner.job?.rowsReadTotal ?? 0) < after && !(runner.job?.isFinished ?? true) { usleep(1_000) }
                _ = try? runner.switchProfile(to: self.profile(name, parallelism: p), reason: "test: \(name)")
            }
        }
        switching.start()
        let outcome = runner.wait()
        while !switching.isFinished { usleep(1_000) }
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let records = runner.switches
        #expect(records.map(\.to) == ["steady", "seasonal", "steady"])
        #expect(records.map { $0.changes.first { $0.knob == "parallelism" }?.new } == ["1", "2", "1"])
        // Each switch moved all three operators at one barrier, a checkpoint taken under the new profile.
        #expect(records.allSatisfy { Set($0.rescaled) == ["once", "valid", "w"] })
        #expect(Set(records.map(\.barrier)).count == 3)
        #expect(records.allSatisfy { runner.job?.barriers.status($0.barrier) == .completed })
        #expect(outcome.summary.json.contains("\"profile_switches\":3"))
        let pauses = records.map(\.pauseMs)
        #expect(outcome.summary.json.contains("\"profile_switch_pause_ms\":\(pauses.reduce(0, +)),"))
        #expect(outcome.summary.json.contains("\"profile_switch_pause_ms_max\":\(pauses.max() ?? -1),"))
        #expect(outcome.summary.json.contains("\"profile\":\"steady\""))
        let got = try lines(b)
        #expect(got.count == expected.count)
        #expect(got == expected)
    }
}
