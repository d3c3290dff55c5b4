import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Exactly once across crashes: the orders job on a separate dev-broker process, killed with SIGKILL at
/// three random moments and restarted each time, commits exactly the output of an uninterrupted run.
@Suite(.serialized) struct KillRecoveryTests {
    func pipeline(_ dir: URL, name: String, brokers: String) throws -> URL {
        let file = dir.appendingPathComponent("\(name).yaml")
        let base = dir.appendingPathComponent(name).path
        try """
        name: orders-\(name)
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          kafka: { brokers: "\(brokers)", topics: [orders], group: \(name), start_from: earliest, assignment: static }
          format: json
          event_time: { field: ts, max_disorder: 5s }
        operators:
          - key_by: shop
          - window: { tumbling: 1h, aggregate: { orders: count(), revenue: sum(amount) } }
            id: hourly
        sink:
          file: { path: \(base)/out, bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}", format: json }
        state: { backend: rocksdb, dir: \(base)/state, memory: 128MiB }
        checkpoints: { dir: \(base)/checkpoints, retain: 2 }
        profiles:
          initial: steady
          overrides:
            steady: { checkpoint: { interval: 200ms }, sink: { records_per_second: 4000 } }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func stoppedOnceBySIGTERMAndKilledThreeTimesItCommitsExactlyWhatAnUninterruptedRunCommits() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "orders:8", in: dir, lifetime: 240, extra: ["--generate", "120000"])
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)

        let reference = try pipeline(dir, name: "reference", brokers: bootstrap)
        let r = try streamctlRun(
            ["run", reference.path, "--until", "caught-up", "--parallelism", "2", "--progress", "off"], timeout: 180)
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        let expected = try committed(dir.appendingPathComponent("reference/out"))
        #expect(expected.count > 1_000)

        let crashed = try pipeline(dir, name: "crashed", brokers: bootstrap)
        var random = SystemRandomNumberGenerator()
        for attempt in 0..<4 {
            let log = dir.appendingPathComponent("crashed-\(attempt).log")
            let p = try startStreamctl(["run", crashed.path, "--parallelism", "2", "--progress", "off"], log: log)
            // After the run's first checkpoint of its own, at a random moment within the next second.
            let seen = waitForLog(log, toContain: " complete: ", while: p, seconds: 30)
            #expect(seen, "no checkpoint completed before the kill: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            usleep(UInt32.random(in: 0..<1_000_000, using: &random))
            // The first stop is a graceful one: SIGTERM takes a final checkpoint and exits 0.
            kill(p.processIdentifier, attempt == 0 ? SIGTERM : SIGKILL)
            p.waitUntilExit()
            if attempt == 0 {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                #expect(p.terminationStatus == 0, "\(text.suffix(1500))")
                #expect(text.contains("taking a final checkpoint"))
            }
        }
        let last = try streamctlRun(
            ["run", crashed.path, "--until", "caught-up", "--parallelism", "2", "--progress", "off"], timeout: 180)
        #expect(last.status == 0, "\(last.stderr.suffix(2000))")
        #expect(last.stderr.contains("resuming from checkpoint"))
        let got = try committed(dir.appendingPathComponent("crashed/out"))
        let duplicated = got.filter { $0.value > 1 }.count
        let lost = expected.keys.filter { got[$0] == nil }.count
        let unexpected = got.keys.filter { expected[$0] == nil }.count
        if duplicated + lost + unexpected > 0 {
            Issue.record("of \(expected.count) rows: \(duplicated) duplicated, \(lost) lost, \(unexpected) unexpected")
        }
    }
}
