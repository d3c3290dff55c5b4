import Foundation
import Testing

/// What a new user's first day found, through the command line: exit codes, messages, summaries, reruns.
@Suite(.serialized) struct FirstDayTests {
    /// A generator → hourly windows → Hive-bucketed files pipeline with RocksDB state, all under `dir`.
    func pipeline(in dir: URL, rows: String = "3000", extra: String = "") throws -> URL {
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: first-day
        source:
          generator: { seed: 9, rows: \(rows), keys: 12, splits: 2, step: 1s, start_time: "2026-11-27T00:00:00Z" }
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window: { tumbling: 10m, aggregate: { orders: count() } }
        sink:
          file: { path: \(dir.path)/out, bucket: "date={window_start:%F}/day={window_start:%j}", format: json }
        state: { backend: rocksdb, dir: \(dir.path)/state }
        \(extra)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Sum of `orders` over the committed part files under `dir/out`.
    func countedOrders(_ dir: URL) throws -> Int {
        var total = 0
        let files = FileManager.default.enumerator(
            at: dir.appendingPathComponent("out"), includingPropertiesForKeys: nil)
        for case let url as URL in files ?? NSEnumerator() where url.lastPathComponent.hasPrefix("part-") {
            for row in jsonLines(try String(contentsOf: url, encoding: .utf8)) {
                total += (row["orders"] as? Int) ?? 0
            }
        }
        return total
    }

    @Test func rerunIsRefusedUntilFreshAndThenCountsEveryOrderOnce() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = try pipeline(in: dir)
        let first = try streamctlRun(["run", p.path, "--progress", "off"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try countedOrders(dir) == 3000)

        let second = try streamctlRun(["run", p.path, "--progress", "off"])
        #expect(second.status == 5, "\(second.stderr)")
        #expect(second.stderr.contains("state directory \(dir.path)/state holds state of an earlier run"))
        #expect(jsonLines(second.stderr).last?["status"] as? String == "failed")
        #expect(try countedOrders(dir) == 3000)

        let fresh = try streamctlRun(["run", p.path, "--progress", "off", "--fresh"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(try countedOrders(dir) == 3000)
    }

    @Test func rerunIntoExistingOutputIsRefusedWithoutFreshOrAppend() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = try pipeline(in: dir, extra: "")
        let memory = try String(contentsOf: p, encoding: .utf8)
            .replacingOccurrences(of: "backend: rocksdb", with: "backend: memory")
        try memory.write(to: p, atomically: true, encoding: .utf8)
        #expect(try streamctlRun(["run", p.path, "--progress", "off"]).status == 0)
        let again = try streamctlRun(["run", p.path, "--progress", "off"])
        #expect(again.status == 6, "\(again.stderr)")
        #expect(again.stderr.contains("output of an earlier run is in the way: \(dir.path)/out"))
        let appended = try streamctlRun(["run", p.path, "--progress", "off", "--append"])
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(try countedOrders(dir) == 6000)
        let both = try streamctlRun(["run", p.path, "--fresh", "--append"])
        #expect(both.status == 64)
    }

    @Test(arguments: [
        (["--max-duration", "-1s"], "--max-duration `-1s` is not a positive duration"),
        (["--parallelism", "-3"], "--parallelism must be between 1 and 128, not -3"),
        (["--max-records", "-5"], "--max-records must be at least 1, not -5"),
        (["--generate", "10"], "--generate fills the embedded broker's source topic"),
        (["--until", "caught-up"], "--until caught-up applies to Kafka sources"),
    ])
    func wrongOrUselessFlagsSayWhatIsWrongAndExit2(_ flags: [String], _ message: String) throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = try pipeline(in: dir)
        let summary = dir.appendingPathComponent("summary.jsonl")
        let r = try streamctlRun(["run", p.path, "--summary", summary.path] + flags)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!r.stderr.contains("Missing value"))
        let line = jsonLines(try String(contentsOf: summary, encoding: .utf8)).last
        #expect(line?["status"] as? String == "failed")
        #expect((line?["error"] as? String)?.contains(message) == true)
    }

    @Test func summaryFileIsWrittenWhenThePipelineIsInvalid() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = dir.appendingPathComponent("bad.yaml")
        try "name: x\nsource: { generator: { keys: 100000000000000 } }\nsink: { stdout: {} }\n"
            .write(to: p, atomically: true, encoding: .utf8)
        let summary = dir.appendingPathComponent("summary.jsonl")
        let r = try streamctlRun(["run", p.path, "--summary", summary.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("`source.generator.keys` must be at most 10,000,000"))
        let line = jsonLines(try String(contentsOf: summary, encoding: .utf8)).last
        #expect(line?["status"] as? String == "failed")
        #expect((line?["error"] as? String)?.hasPrefix("configuration error: \(p.path):2:") == true)
    }

    @Test func secondSignalWhileDrainingExits130WithASummary() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        // The sink writes 2 rows a second, so draining the open windows takes far longer than the test waits.
        let p = try pipeline(
            in: dir, rows: "unbounded, rate: 5000",
            extra: "profiles: { overrides: { steady: { sink: { records_per_second: 2 } } } }")
        let errFile = dir.appendingPathComponent("stderr.txt")
        let process = try startStreamctl(
            ["run", p.path, "--progress", "off", "--summary", dir.appendingPathComponent("s.jsonl").path], log: errFile)
        #expect(waitForLog(errFile, toContain: "running first-day"))
        kill(process.processIdentifier, SIGINT)
        #expect(waitForLog(errFile, toContain: "stopping: draining"))
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let summary = jsonLines(try String(contentsOf: dir.appendingPathComponent("s.jsonl"), encoding: .utf8))
        #expect(summary.last?["status"] as? String == "interrupted")
        #expect(jsonLines(try String(contentsOf: errFile, encoding: .utf8)).last?["status"] as? String == "interrupted")
    }

    @Test func closingStdoutEndsTheRunWithStatusOk() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let err = dir.appendingPathComponent("err.txt")
        let r = try run(
            "/bin/sh",
            ["-c", "'\(streamctl)' run examples/stdout.yaml --progress off 2>'\(err.path)' | head -1; exit 0"])
        #expect(r.stdout.split(separator: "\n").count == 1)
        let summary = jsonLines(try String(contentsOf: err, encoding: .utf8)).last
        #expect(summary?["status"] as? String == "ok")
    }

    @Test func devBrokerRefusesALoadKeyTheFileDoesNotHave() throws {
        let r = try streamctlRun([
            "dev-broker", "--topic", "orders:2", "--load", "examples/data/orders-sample.jsonl", "--load-key",
            "nosuchfield",
            "--exit-after", "1",
        ])
        #expect(r.status == 2)
        #expect(r.stderr.contains("has no field `nosuchfield`"))
    }

    @Test func infoPrintsEveryLibraryVersionAndTheBuild() throws {
        let r = try streamctlRun(["info"])
        #expect(r.status == 0)
        for prefix in ["librdkafka: ", "rocksdb: ", "allocator: jemalloc "] {
            #expect(r.stdout.contains(prefix), "\(r.stdout)")
        }
        #expect(r.stdout.contains("build, Swift 6"))
        let huge = try streamctlRun(["info", "--allocate", "99999TiB"])
        #expect(huge.status == 2)
        #expect(huge.stderr.contains("more than half of this machine's memory"))
    }

    @Test func topLevelHelpFitsEightyColumns() throws {
        let r = try run("/usr/bin/env", ["COLUMNS=80", streamctl, "--help"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains("streamctl graph examples/orders.yaml | dot -Tsvg > orders.svg") })
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(!lines.contains { $0.hasPrefix("examples/") })
    }
}
