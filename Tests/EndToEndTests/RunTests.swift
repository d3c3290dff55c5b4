import Foundation
import Testing

@testable import StreamCore

@Suite(.serialized) struct RunTests {
    @Test func stdoutExamplePrintsExactlyTheFilteredRows() throws {
        let r = try streamctlRun(["run", "examples/stdout.yaml", "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = jsonLines(r.stdout)
        let gen = GeneratorSource(spec: GeneratorSpec(seed: 1, rows: 1000, keys: 5))
        let expected = (0..<1000).map { gen.row($0) }.filter { $0.cents > 10_000 }
        #expect(rows.count == expected.count)
        #expect(Set(rows.compactMap { $0["order_id"] as? Int }) == Set(expected.map { Int($0.orderId) }))
        #expect(rows.allSatisfy { $0.count == 3 })
        // The summary line reports the same counts.
        let summary = jsonLines(r.stderr).last
        #expect(summary?["status"] as? String == "ok")
        #expect(summary?["rows_in"] as? Int == 1000)
        #expect(summary?["rows_out"] as? Int == expected.count)
    }

    @Test func fileSourceWindowsMatchTheSampleData() throws {
        let r = try streamctlRun(["run", "examples/file-source.yaml", "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        // Recount the sample per shop and 15-minute window straight from the input file.
        let input = jsonLines(
            try String(
                contentsOf: repoRoot.appendingPathComponent("examples/data/orders-sample.jsonl"), encoding: .utf8))
        let iso = ISO8601DateFormatter()
        var expected: [String: Int] = [:]
        for row in input {
            let t = Int(iso.date(from: row["ts"] as! String)!.timeIntervalSince1970)
            let start = iso.string(from: Date(timeIntervalSince1970: TimeInterval(t - t % 900)))
            expected["\(row["shop"]!)|\(start.dropLast())", default: 0] += 1
        }
        var actual: [String: Int] = [:]
        for row in jsonLines(r.stdout) {
            let start = (row["window_start"] as! String).replacingOccurrences(of: ".000Z", with: "")
            actual["\(row["shop"]!)|\(start)"] = row["orders"] as? Int
        }
        #expect(input.count == 50)
        #expect(actual == expected)
    }

    @Test func generatorToHivePartitionedFilesWritesEveryWindowOnce() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: files
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 9, rows: 50000, keys: 7, disorder: 2s, step: 100ms, splits: 4, start_time: "2026-11-27T00:00:00Z" }
          event_time: { field: ts, max_disorder: 2s }
        operators:
          - key_by: shop
          - window: { tumbling: 1h, aggregate: { orders: count(), revenue: sum(amount) } }
        sink:
          file: { path: \(dir.path)/out, bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}", format: json }
        state: { backend: memory }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path, "--parallelism", "2", "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        // 50000 rows at 100 ms = 5000 s: windows 00:00 and 01:00 (and 02:00 for the last few rows).
        let files = FileManager.default.enumerator(atPath: dir.appendingPathComponent("out").path)!
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".json") }
        #expect(files.contains { $0.hasPrefix("date=2026-11-27/hour=00/part-") })
        #expect(files.contains { $0.hasPrefix("date=2026-11-27/hour=01/part-") })
        #expect(!files.contains { $0.contains("inprogress") })
        var total = 0
        var windows = Set<String>()
        for f in files {
            let text = try String(contentsOfFile: dir.appendingPathComponent("out/\(f)").path, encoding: .utf8)
            for row in jsonLines(text) {
                total += row["orders"] as? Int ?? 0
                let key = "\(row["shop"]!)|\(row["window_start"]!)"
                #expect(!windows.contains(key))
                windows.insert(key)
                let hour = (row["window_start"] as? String).map { String($0.dropFirst(11).prefix(2)) }
                #expect(f.contains("hour=\(hour ?? "?")/"))
            }
        }
        #expect(total == 50_000)
    }

    @Test func anUnknownGeneratorFieldIsAConfigurationErrorWithExitCode2() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: bad
        schema: { order_id: int64, colour: string }
        source:
          generator: { rows: 10 }
        sink:
          stdout: { format: json }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("colour"))
    }
}
