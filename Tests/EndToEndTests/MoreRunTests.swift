import Foundation
import Testing

@Suite(.serialized) struct MoreRunTests {
    @Test func lateRowsGoToTheLateOutputAndWithTheWindowsAccountForEveryRow() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = dir.appendingPathComponent("p.yaml")
        // Rows arrive up to 20 s out of order but only 1 s of disorder is allowed: some are late.
        try """
        name: late
        source:
          generator: { seed: 3, rows: 20000, keys: 5, disorder: 20s, step: 50ms, splits: 2 }
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window: { tumbling: 1m, aggregate: { n: count() }, late_output: \(dir.path)/late.jsonl }
        sink:
          stdout: { format: json }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path, "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        let counted = jsonLines(r.stdout).reduce(0) { $0 + ($1["n"] as? Int ?? 0) }
        let late = jsonLines(try String(contentsOfFile: dir.appendingPathComponent("late.jsonl").path, encoding: .utf8))
        #expect(late.count > 0)
        #expect(counted + late.count == 20_000)
        #expect(jsonLines(r.stderr).last?["late_rows"] as? Int == late.count)
        #expect(late.allSatisfy { $0["order_id"] != nil && $0["ts"] != nil })
    }

    @Test func csvFilesAreReadByHeaderNames() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        // Columns in another order than the schema, one quoted value with a comma.
        try """
        ts,amount,shop
        2026-11-27T10:00:01Z,10.50,"Lisbon, PT"
        2026-11-27T10:20:00Z,4.50,Rome
        2026-11-27T10:40:00Z,1.00,"Lisbon, PT"

        """.write(to: dir.appendingPathComponent("a.csv"), atomically: true, encoding: .utf8)
        try "ts,amount,shop\n2026-11-27T11:05:00Z,2.25,Rome\n".write(
            to: dir.appendingPathComponent("b.csv"), atomically: true, encoding: .utf8)
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: csv
        schema: { shop: string, amount: decimal(2), ts: timestamp }
        source:
          file: { paths: ["\(dir.path)/*.csv"] }
          format: csv
          event_time: { field: ts, max_disorder: 0s }
        operators:
          - key_by: shop
          - window: { tumbling: 1h, aggregate: { n: count(), total: sum(amount) } }
        sink:
          stdout: { format: csv }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path, "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "shop,window_start,window_end,n,total")
        #expect(
            Set(lines.dropFirst()) == [
                "\"Lisbon, PT\",2026-11-27T10:00:00.000Z,2026-11-27T11:00:00.000Z,2,11.50",
                "Rome,2026-11-27T10:00:00.000Z,2026-11-27T11:00:00.000Z,1,4.50",
                "Rome,2026-11-27T11:00:00.000Z,2026-11-27T12:00:00.000Z,1,2.25",
            ])
    }

    @Test func windowsWrittenToKafkaAreWhatKcatReads() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "hourly:2", in: dir)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: to-kafka
        source:
          generator: { seed: 5, rows: 30000, keys: 12, step: 100ms, splits: 2 }
          event_time: { field: ts, max_disorder: 0s }
        operators:
          - key_by: shop
          - window: { tumbling: 15m, aggregate: { n: count() } }
        sink:
          kafka: { brokers: "\(bootstrap)", topic: hourly, key: shop }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path, "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        let rowsOut = jsonLines(r.stderr).last?["rows_out"] as? Int ?? -1
        let read = try run("/usr/bin/kcat", ["-C", "-b", bootstrap, "-t", "hourly", "-e", "-q", "-f", "%k\t%s\n"])
        let messages = read.stdout.split(separator: "\n")
        #expect(messages.count == rowsOut)
        var total = 0
        for m in messages {
            let parts = m.split(separator: "\t", maxSplits: 1)
            let row = jsonLines(String(parts[1])).first ?? [:]
            #expect(row["shop"] as? String == String(parts[0]))
            total += row["n"] as? Int ?? 0
        }
        #expect(total == 30_000)
    }
}
