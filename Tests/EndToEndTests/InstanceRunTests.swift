import Foundation
import Synchronization
import Testing

/// Several `streamctl run --instance I/N` processes over one key-partitioned topic on one dev broker.
@Suite(.serialized) struct InstanceRunTests {
    let kcat = "/usr/bin/kcat"
    static let shops = 11
    static let rows = 4_000
    static let base: Int64 = 1_700_000_000_000
    nonisolated(unsafe) static let rfc3339: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    func pipeline(_ dir: URL, brokers: String, partitionedBy: String = "[shop]") throws -> URL {
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: instances-e2e
        schema: { order_id: int64, shop: string, amount: decimal(2), ts: timestamp }
        source:
          kafka:
            brokers: \(brokers)
            topics: [orders]
            group: instances-e2e
            start_from: earliest
            assignment: static
            partitioned_by: \(partitionedBy)
          format: json
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window:
              tumbling: 5s
              aggregate: { orders: count(), revenue: sum(amount) }
        sink:
          stdout: { format: json }
        state: { backend: rocksdb, dir: \(dir.appendingPathComponent("state").path), memory: 64MiB }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Orders keyed by shop (so kcat's partitioner puts a shop in one partition), in event-time order.
    func orders() -> [(shop: String, cents: Int64, ts: Int64, line: String)] {
        (0..<Self.rows).map { i in
            let shop = "shop-\((i * 7) % Self.shops)"
            let cents = Int64((i * 37) % 50_000)
            let ts = Self.base + Int64(i) * 20
            let json =
                "{\"order_id\":\(i),\"shop\":\"\(shop)\",\"amount\":\(cents / 100).\(String(format: "%02d", cents % 100)),\"ts\":\(ts)}"
            return (shop, cents, ts, "\(shop)\t\(json)")
        }
    }

    /// The windows computed plainly: `shop|window_start → (orders, revenue in cents)`.
    func expectedWindows() -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        for o in orders() {
            let start = o.ts - o.ts % 5_000
            let k = "\(o.shop)|\(start)"
            let v = out[k] ?? [0, 0]
            out[k] = [v[0] + 1, v[1] + o.cents]
        }
        return out
    }

    /// Output rows as `shop|window_start → (orders, revenue in cents)`, and how often each row appeared.
    func windows(_ stdout: String) throws -> (rows: [String: [Int64]], lines: [String: Int]) {
        var rows: [String: [Int64]] = [:]
        var lines: [String: Int] = [:]
        for line in stdout.split(separator: "\n") {
            lines[String(line), default: 0] += 1
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let start = try #require(o["window_start"] as? String)
            // The decimal's digits as written, not through a double.
            let text = try #require(line.split(separator: "\"revenue\":").last?.prefix { $0 != "," && $0 != "}" })
            let parts = text.split(separator: ".")
            let cents = try #require(Int64(parts[0])) * 100 + (parts.count > 1 ? try #require(Int64(parts[1])) : 0)
            let startMs = try #require(Self.rfc3339.date(from: start)).timeIntervalSince1970 * 1000
            rows["\(o["shop"]!)|\(Int64(startMs.rounded()))"] = [Int64(o["orders"] as! Int), cents]
        }
        return (rows, lines)
    }

    /// Runs the N instances at the same time, as separate processes, and waits for all of them.
    func runInstances(_ n: Int, pipeline: URL, parallelism: Int) throws -> (stdout: String, rowsIn: [Int]) {
        let outcomes = Mutex([Int: Outcome]())
        DispatchQueue.concurrentPerform(iterations: n) { i in
            var args = ["run", pipeline.path, "--until", "caught-up", "--progress", "off", "--fresh"]
            args += ["--parallelism", String(parallelism)]
            if n > 1 { args += ["--instance", "\(i)/\(n)"] }
            let r = (try? streamctlRun(args)) ?? Outcome(status: -1, stdout: "", stderr: "could not start")
            outcomes.withLock { $0[i] = r }
        }
        var out = ""
        var rowsIn: [Int] = []
        for i in 0..<n {
            let r = try #require(outcomes.withLock { $0[i] })
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!r.stderr.contains("warning:"), "\(r.stderr)")
            out += r.stdout
            rowsIn.append(jsonLines(r.stderr).last?["rows_in"] as? Int ?? -1)
        }
        return (out, rowsIn)
    }

    @Test func twoAndThreeInstancesTogetherWriteExactlyWhatOneProcessWrites() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let broker = try DevBroker(topic: "orders:6", in: dir, lifetime: 300)
        defer { broker.stop() }
        let bootstrap = try #require(broker.bootstrap)
        let input = dir.appendingPathComponent("in.txt")
        try (orders().map(\.line).joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let produced = try run(kcat, ["-P", "-b", bootstrap, "-t", "orders", "-K", "\t", "-l", input.path])
        #expect(produced.status == 0, "\(produced.stderr)")
        let p = try pipeline(dir, brokers: bootstrap)

        let one = try runInstances(1, pipeline: p, parallelism: 1)
        let single = try windows(one.stdout)
        // The single process matches a plain computation over the input.
        let expected = expectedWindows()
        let shops = Set(single.rows.keys.map { String($0.split(separator: "|")[0]) })
        #expect(shops.count == Self.shops)
        #expect(single.rows == expected)
        let counted: Int64 = single.rows.values.map { $0[0] }.reduce(0, +)
        #expect(counted == Int64(Self.rows))
        let cents: Int64 = single.rows.values.map { $0[1] }.reduce(0, +)
        let expectedCents: Int64 = expected.values.map { $0[1] }.reduce(0, +)
        #expect(cents == expectedCents)
        for n in [2, 3] {
            for parallelism in [1, 2] {
                let many = try runInstances(n, pipeline: p, parallelism: parallelism)
                let combined = try windows(many.stdout).lines
                #expect(combined == single.lines, "\(n) instances, parallelism \(parallelism)")
                // Every instance read a share, and the shares add up to the topic.
                #expect(many.rowsIn.allSatisfy { $0 > 0 }, "\(many.rowsIn)")
                let total: Int = many.rowsIn.reduce(0, +)
                #expect(total == Self.rows)
            }
        }
        // Each instance kept its state in a directory of its own.
        let stateDirs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("state").path)
        #expect(Set(["instance-0-of-2", "instance-1-of-2", "instance-2-of-3"]).isSubset(of: Set(stateDirs)))
    }

    @Test func validateAndRunWarnWhenTheKeyDoesNotFollowThePartitioning() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let p = try pipeline(dir, brokers: "127.0.0.1:1", partitionedBy: "[order_id]")
        let v = try streamctlRun(["validate", p.path])
        #expect(v.status == 0)
        #expect(v.stderr.contains("p.yaml:14:5: warning: operator `window-1`: the key (shop) does not follow"))
        #expect(v.stderr.contains("the topic is partitioned by (order_id)"))
        #expect(v.stderr.contains("help: key the topic's messages by fields of the key"))
        let ok = try pipeline(dir, brokers: "127.0.0.1:1", partitionedBy: "[shop]")
        #expect(try !streamctlRun(["validate", ok.path]).stderr.contains("warning"))
        let bad = try streamctlRun(["run", ok.path, "--instance", "3/3"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--instance takes I/N with 0 <= I < N"))
    }
}
