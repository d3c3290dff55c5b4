import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Acting on a running job from another shell: `profile set`, `profile show` and `savepoint` through the
/// control endpoint the job announced in its state directory.
@Suite(.serialized) struct ControlRoutesTests {
    @Test func profileSetShowAndSavepointActOnTheRunningJob() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: controlled
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: 50000000, keys: 50, step: 1s }
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window: { tumbling: 10m, aggregate: { orders: count() } }
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 64MiB }
        checkpoints: { dir: \(dir.path)/checkpoints }
        profiles:
          overrides:
            steady: { checkpoint: { interval: 300ms }, sink: { records_per_second: 2000 } }
            seasonal: { checkpoint: { interval: 300ms }, sink: { records_per_second: 2000 } }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("run.log")
        let p = try startStreamctl(
            ["run", pipeline.path, "--http", "127.0.0.1:0", "--progress", "off", "--set", "batch_size=500"], log: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let control = dir.appendingPathComponent("state/control.json")
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: control.path) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: control.path))
        // The endpoint answers while the parts are assembled; a switch needs the job itself.
        waitForLog(log, toContain: "running controlled with profile", while: p)

        let set = try streamctlRun(["profile", "set", pipeline.path, "seasonal", "--reason", "a test"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("\"to\":\"seasonal\""), "\(set.stdout)")
        let show = try streamctlRun(["profile", "show", pipeline.path])
        #expect(show.stdout.contains("\"profile\":\"seasonal\""), "\(show.stdout)")
        // The running profile's knobs say where they came from; `--set` holds across the switch.
        let answer = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        let knobs = Dictionary(
            ((answer?["knobs"] as? [[String: Any]]) ?? []).map { ($0["knob"] as? String ?? "", $0) },
            uniquingKeysWith: { a, _ in a })
        #expect(knobs["batch_size"]?["value"] as? String == "500")
        #expect(knobs["batch_size"]?["source"] as? String == "--set")
        #expect(knobs["checkpoint.interval"]?["source"] as? String == "pipeline override")
        #expect(knobs["checkpoint.interval"]?["place"] as? String == "\(pipeline.path):16")
        #expect((knobs["checkpoint.timeout"]?["source"] as? String).map { ["built-in", "profile file"].contains($0) } == true)
        let unknown = try streamctlRun(["profile", "set", pipeline.path, "nosuchprofile"])
        #expect(unknown.status == 2, "\(unknown.stderr)")

        let savepoint = dir.appendingPathComponent("savepoint")
        let sp = try streamctlRun(["savepoint", pipeline.path, "--dir", savepoint.path])
        #expect(sp.status == 0, "\(sp.stderr)")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: savepoint.path)) ?? []
        let chk = try #require(entries.first { $0.hasPrefix("chk-") }, "\(entries)")
        let manifest = try String(contentsOfFile: savepoint.path + "/\(chk)/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"savepoint\" : true"))

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(p.terminationStatus == 0, "\(text.suffix(1500))")
        #expect(text.contains("profile: steady → seasonal (by hand: a test)"))
        let summary = jsonLines(text).last
        #expect(summary?["profile_switches"] as? Int == 1)
        #expect(summary?["profile"] as? String == "seasonal")
    }

    /// Orders deduplicated by id, filtered, written row by row: the dedupe keeps keyed state and, with the
    /// filter, is rescaled by every switch (backfill 4 workers, steady 1, seasonal 2). The sink is throttled
    /// so that rows are still flowing while the switches are made.
    func switchedPipeline(_ dir: URL, brokers: String) throws -> URL {
        let file = dir.appendingPathComponent("switched.yaml")
        let base = dir.appendingPathComponent("switched").path
        try """
        name: switched
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          kafka: { brokers: "\(brokers)", topics: [orders], group: switched, start_from: earliest, assignment: static }
          format: json
          event_time: { field: ts, max_disorder: 5s }
        operators:
          - dedupe: { key: order_id, ttl: 30d }
            id: once
          - filter: "amount >= 10"
            id: big
        sink:
          file: { path: \(base)/out, format: json }
        state: { backend: rocksdb, dir: \(base)/state, memory: 128MiB }
        checkpoints: { dir: \(base)/checkpoints, retain: 2 }
        profiles:
          overrides:
            backfill: { parallelism: 4, checkpoint: { interval: 300ms }, sink: { records_per_second: 10000 } }
            steady: { parallelism: 1, checkpoint: { interval: 300ms }, sink: { records_per_second: 10000 } }
            seasonal: { parallelism: 2, checkpoint: { interval: 300ms }, sink: { records_per_second: 10000 } }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func backfillSteadySeasonalSteadyByProfileSetWithParallelism4To1To2To1WritesEachRowOnce() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        // 20,000 orders, then every one of them again: the second copies meet the dedupe's state after switches.
        let orders = 20_000
        var text = ""
        var expected: Set<Int> = []
        for copy in 0..<2 {
            for i in 0..<orders {
                let amount = (i * 37) % 100
                if copy == 0 && amount >= 10 { expected.insert(i) }
                let ts = 1_795_000_000 + i
                text += "{\"order_id\": \(i), \"shop\": \"s\(i % 97)\", \"customer\": \"c\(i % 13)\", "
                    + "\"amount\": \(amount).25, \"ts\": \(ts * 1000)}\n"
            }
        }
        let input = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: input, atomically: true, encoding: .utf8)
        let broker = try DevBroker(
            topic: "orders:8", in: dir, lifetime: 240, extra: ["--load", input.path, "--load-key", "shop"])
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)

        // Switched by hand from another shell while it runs (it reads until stopped, so no switch races its end).
        let switched = try switchedPipeline(dir, brokers: bootstrap)
        let log = dir.appendingPathComponent("switched.log")
        let p = try startStreamctl(
            ["run", switched.path, "--profile", "backfill", "--http", "127.0.0.1:0", "--progress", "off"], log: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        #expect(waitForLog(log, toContain: "running switched with profile backfill", while: p))
        for (profile, parallelism) in [("steady", 1), ("seasonal", 2), ("steady", 1)] {
            let set = try streamctlRun(["profile", "set", switched.path, profile, "--reason", "test"])
            #expect(set.status == 0, "\(set.stderr)")
            let answer = try JSONSerialization.jsonObject(with: Data(set.stdout.utf8)) as? [String: Any]
            #expect(answer?["to"] as? String == profile)
            // Both operators moved at the switch's one barrier.
            #expect(answer?["rescaled"] as? [String] == ["once", "big"], "\(set.stdout)")
            #expect((answer?["changes"] as? [String: [String]])?["parallelism"]?.last == String(parallelism))
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let said = try String(contentsOf: log, encoding: .utf8)
        #expect(p.terminationStatus == 0, "\(said.suffix(1500))")
        #expect(jsonLines(said).last?["profile_switches"] as? Int == 3)

        // What is left of the input is read by a resumed run, in steady.
        let last = try streamctlRun(["run", switched.path, "--until", "caught-up", "--progress", "off"], timeout: 180)
        #expect(last.status == 0, "\(last.stderr.suffix(2000))")
        let got = try committed(dir.appendingPathComponent("switched/out"))
        var ids: [Int: Int] = [:]
        for (line, count) in got {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            ids[(row?["order_id"] as? Int) ?? -1, default: 0] += count
        }
        let duplicated = ids.filter { $0.value > 1 }.count
        let lost = expected.filter { ids[$0] == nil }.count
        let unexpected = ids.keys.filter { !expected.contains($0) }.count
        #expect(expected.count > 10_000)
        if duplicated + lost + unexpected > 0 {
            Issue.record("of \(expected.count) orders: \(duplicated) duplicated, \(lost) lost, \(unexpected) unexpected")
        }
    }
}
