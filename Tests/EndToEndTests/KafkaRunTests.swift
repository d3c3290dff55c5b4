import Foundation
@testable import StreamCore
import Testing

/// streamctl against a real Kafka protocol endpoint (its dev broker) with kcat as the outside client.
@Suite(.serialized) struct KafkaRunTests {
    let kcat = "/usr/bin/kcat"

    func pipeline(_ dir: URL, brokers: String, badRecords: String = "fail", extra: String = "") throws -> URL {
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: kafka-e2e
        schema: { order_id: int64, shop: string, amount: decimal(2), ts: timestamp }
        source:
          kafka:
            brokers: \(brokers)
            topics: [orders]
            group: e2e
            properties: { session.timeout.ms: "6000", heartbeat.interval.ms: "200"\(extra) }
          format: json
          on_bad_record: \(badRecords)
        sink:
          stdout: { format: json }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func produce(_ lines: [String], to bootstrap: String, in dir: URL) throws {
        let input = dir.appendingPathComponent("in.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let r = try run(kcat, ["-P", "-b", bootstrap, "-t", "orders", "-K", "\t", "-l", input.path])
        #expect(r.status == 0, "\(r.stderr)")
    }

    func orders(_ n: Int) -> [String] {
        (0..<n).map { i in
            "shop-\(i % 13)\t{\"order_id\":\(i),\"shop\":\"shop-\(i % 13)\",\"amount\":\(i % 500).25,\"ts\":\(1_700_000_000_000 + i * 10)}"
        }
    }

    @Test func whatKcatProducesStreamctlReadsExactlyAtParallelismTwo() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "orders:8", in: dir)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        let input = orders(3_000)
        try produce(input, to: bootstrap, in: dir)
        let r = try streamctlRun([
            "run", try pipeline(dir, brokers: bootstrap).path, "--until", "caught-up",
            "--parallelism", "2", "--progress", "off",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let ids = jsonLines(r.stdout).compactMap { $0["order_id"] as? Int }
        #expect(ids.count == 3_000)
        #expect(Set(ids) == Set(0..<3_000))
        let summary = jsonLines(r.stderr).last
        #expect(summary?["rows_in"] as? Int == 3_000)
        #expect(summary?["lag_left"] as? Int == 0)
    }

    @Test func badRecordsGoToTheDeadLetterFileWithTheirOrigin() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "orders:1", in: dir)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        var lines = orders(100)
        lines.insert("k\tnot json at all", at: 10)
        lines.insert("k\t{\"order_id\":\"abc\",\"shop\":\"x\",\"amount\":1,\"ts\":1}", at: 50)
        try produce(lines, to: bootstrap, in: dir)
        let dead = dir.appendingPathComponent("dead.jsonl").path
        let p = try pipeline(dir, brokers: bootstrap, badRecords: "dead_letter\n  dead_letter_path: \(dead)")
        let r = try streamctlRun(["run", p.path, "--until", "caught-up", "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(jsonLines(r.stdout).count == 100)
        let letters = jsonLines(try String(contentsOfFile: dead, encoding: .utf8))
        #expect(letters.count == 2)
        #expect(letters.map { $0["origin"] as? String } == ["orders[0]@10", "orders[0]@50"])
        #expect(letters.first?["raw"] as? String == "not json at all")
        #expect(jsonLines(r.stderr).last?["bad_records"] as? Int == 2)

        let failing = try pipeline(dir, brokers: bootstrap, badRecords: "fail")
        let f = try streamctlRun(["run", failing.path, "--until", "caught-up", "--progress", "off"])
        #expect(f.status == 65)
        #expect(f.stderr.contains("bad record at orders[0]@10"))
    }

    @Test func anUnreachableBrokerFailsWithItsAddressAndExitCode69() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = try pipeline(dir, brokers: "127.0.0.1:1", extra: ", streamctl.connect.timeout.ms: \"2000\"")
        let start = Date()
        let r = try streamctlRun(["run", p.path, "--progress", "off"], timeout: 60)
        #expect(r.status == 69)
        #expect(r.stderr.contains("cannot reach Kafka at 127.0.0.1:1"))
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test func theMainJobWritesEveryCompleteHourAndKeepsTheOpenOneInItsCheckpoint() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        for sub in ["examples", "profiles"] {
            try FileManager.default.copyItem(
                at: repoRoot.appendingPathComponent(sub), to: dir.appendingPathComponent(sub))
        }
        let r = try streamctlRun(
            [
                "run", "examples/orders.yaml", "--generate", "20000", "--until", "caught-up",
                "--progress", "off",
            ], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = jsonLines(r.stderr).last
        #expect(summary?["late_rows"] as? Int == 0)
        #expect(summary?["checkpoints_completed"] as? Int ?? 0 >= 1)
        // The hours the final watermark (newest event time − 5 s) passed, by a plain loop over the same orders
        // (the embedded broker's generator: seed 2026, 500 shops, 2.6 s apart, up to 3 s out of order).
        let gen = GeneratorSource(
            spec: GeneratorSpec(
                seed: 2026, rows: 20_000, keys: 500, skew: 1.1, disorderMs: 3_000, startTime: 1_795_000_000_000,
                stepMs: 2_600, splits: 1))
        var newest = Int64.min
        var expected: [String: Int] = [:]
        for i in 0..<20_000 {
            let o = gen.row(i)
            newest = max(newest, o.ts)
            expected["shop-\(o.shop)|\(o.ts / 3_600_000 * 3_600_000)", default: 0] += 1
        }
        let watermark = newest - 5_000
        expected = expected.filter { k, _ in Int64(k.split(separator: "|")[1])! + 3_600_000 - 1 <= watermark }
        let out = dir.appendingPathComponent("out/orders")
        let files = FileManager.default.enumerator(atPath: out.path)!.compactMap { $0 as? String }.filter {
            $0.hasSuffix(".json") && !$0.contains("/.")
        }
        var written: [String: Int] = [:]
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for f in files {
            for row in jsonLines(try String(contentsOfFile: out.appendingPathComponent(f).path, encoding: .utf8)) {
                let start = Int64(format.date(from: row["window_start"] as! String)!.timeIntervalSince1970 * 1000)
                written["\(row["shop"]!)|\(start)", default: 0] += row["orders"] as? Int ?? 0
            }
        }
        #expect(!expected.isEmpty)
        #expect(written == expected)
        // The open hour is in the checkpoint, not in the output.
        #expect(expected.values.reduce(0, +) < 20_000)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints/orders").path)
        #expect(checkpoints.contains { $0.hasPrefix("chk-") })
    }
}

@Suite(.serialized) struct CronContractTests {
    @Test func aDeadlineReachedWhileBehindExitsWith3AndSaysHowFarBehind() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "orders:4", in: dir)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        let input = dir.appendingPathComponent("in.txt")
        try (0..<30_000).map { "{\"order_id\":\($0),\"ts\":\(1_700_000_000_000 + $0)}" }.joined(separator: "\n")
            .write(to: input, atomically: true, encoding: .utf8)
        let produced = try run("/usr/bin/kcat", ["-P", "-b", bootstrap, "-t", "orders", "-l", input.path])
        #expect(produced.status == 0)
        // The sink may write 3000 rows a second: 30000 rows cannot be done in the 2 s allowed.
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: slow
        schema: { order_id: int64, ts: timestamp }
        source:
          kafka: { brokers: "\(bootstrap)", topics: [orders], group: slow, assignment: static }
        sink:
          null: {}
        profiles:
          overrides: { steady: { batch_size: 500, channel_capacity: 2, sink: { records_per_second: 3000 } } }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun([
            "run", pipeline.path, "--until", "caught-up", "--max-duration", "2s", "--progress", "off",
        ])
        #expect(r.status == 3, "\(r.stderr)")
        let summary = jsonLines(r.stderr).last
        #expect(summary?["status"] as? String == "behind")
        let rowsIn = summary?["rows_in"] as? Int ?? -1
        let lag = summary?["lag_left"] as? Int ?? -1
        #expect(rowsIn > 0 && rowsIn < 30_000)
        #expect(lag > 0)
        #expect(rowsIn + lag == 30_000)
    }
}

@Suite(.serialized) struct KafkaTimestampTests {
    @Test func withoutAnEventTimeFieldWindowsUseTheKafkaMessageTimestamp() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "clicks:2", in: dir)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        let input = dir.appendingPathComponent("in.txt")
        try (0..<500).map { "{\"page\":\"p\($0 % 3)\"}" }.joined(separator: "\n").write(
            to: input, atomically: true, encoding: .utf8)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(try run("/usr/bin/kcat", ["-P", "-b", bootstrap, "-t", "clicks", "-l", input.path]).status == 0)
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: clicks
        schema: { page: string }
        source:
          kafka: { brokers: "\(bootstrap)", topics: [clicks], group: clicks, assignment: static }
          event_time: { max_disorder: 1s }
        operators:
          - key_by: page
          - window: { tumbling: 1h, aggregate: { views: count(), first_seen: min(kafka_timestamp) } }
        sink:
          stdout: { format: json }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", pipeline.path, "--until", "caught-up", "--progress", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = jsonLines(r.stdout)
        #expect(rows.reduce(0) { $0 + ($1["views"] as? Int ?? 0) } == 500)
        #expect(Set(rows.compactMap { $0["page"] as? String }) == ["p0", "p1", "p2"])
        // The windows are those of the moment the messages were produced.
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for row in rows {
            let first = try #require(iso.date(from: row["first_seen"] as? String ?? ""))
            #expect(Int64(first.timeIntervalSince1970 * 1000) >= before - 1_000)
        }
    }
}
