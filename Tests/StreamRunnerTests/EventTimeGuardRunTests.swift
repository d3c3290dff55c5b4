import Foundation
import StreamCore
import StreamPipeline
import StreamRunner
import Testing

/// A stray far-future event time in the input no longer moves the watermark and turns the rest late.
@Suite struct EventTimeGuardRunTests {
    /// 3,000 orders of 3 shops, one a second, with rows 500 and 1,700 mutated to the years 9026 and 2226.
    static func input() -> (lines: [String], expected: [String: Int]) {
        var lines: [String] = []
        var expected: [String: Int] = [:]
        let start: Int64 = 1_795_737_600_000
        for i in 0..<3_000 {
            let shop = "s\(i % 3)"
            var ts = "\(start + Int64(i) * 1_000)"
            if i == 500 { ts = "\"9026-11-01T00:00:00Z\"" }
            if i == 1_700 { ts = "\"2226-11-01T00:00:00Z\"" }
            lines.append("{\"shop\":\"\(shop)\",\"ts\":\(ts)}")
            if i != 500 && i != 1_700 { expected[shop, default: 0] += 1 }
        }
        return (lines, expected)
    }

    @Test(arguments: [1, 3])
    func strayEventTimesAreBadRecordsAndTheRestIsCountedOnTime(parallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (lines, expected) = Self.input()
        try (lines.joined(separator: "\n") + "\n").write(
            to: dir.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)
        let spec = try PipelineLoader.load(
            yaml: """
                name: guard
                schema: { shop: string, ts: timestamp }
                source:
                  file: { paths: [\(dir.path)/in.jsonl] }
                  event_time: { field: ts, max_disorder: 1s, max_ahead: 1d }
                  on_bad_record: dead_letter
                  dead_letter_path: \(dir.path)/bad.jsonl
                operators:
                  - key_by: shop
                  - window: { tumbling: 1h, aggregate: { orders: count() } }
                sink:
                  file: { path: \(dir.path)/out, format: json }
                """, file: "guard.yaml")
        var profile = Profile(name: "test")
        profile.parallelism = parallelism
        let outcome = try JobRunner(spec: spec, profile: profile, options: RunOptions(bindArenas: false)).run()
        #expect(outcome.summary.status == "ok")
        #expect(outcome.summary.json.contains("\"late_rows\":0"))
        #expect(outcome.summary.json.contains("\"bad_records\":2"))

        var counted: [String: Int] = [:]
        let files = FileManager.default.enumerator(
            at: dir.appendingPathComponent("out"), includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.lastPathComponent.hasPrefix("part-") {
            for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
                let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                counted[row["shop"] as! String, default: 0] += (row["orders"] as! NSNumber).intValue
                #expect((row["window_start"] as! String).hasPrefix("2026-"))
            }
        }
        #expect(counted == expected)
        let dead = try String(contentsOf: dir.appendingPathComponent("bad.jsonl"), encoding: .utf8)
        #expect(dead.contains("9026-11-01T00:00:00Z"))
        #expect(dead.contains("in.jsonl:501"))
    }
}
