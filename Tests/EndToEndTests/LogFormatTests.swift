import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--log-format json`: every stderr line is one JSON object; librdkafka's own lines come through the same
/// logger (label `librdkafka`), and the summary line stays the summary (written as it is, once).
@Suite struct LogFormatTests {
    @Test func jsonLogsCarryLibrdkafkasLinesAndEndWithTheSummary() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: log-json
        schema: { order_id: int64, ts: timestamp }
        source:
          kafka:
            brokers: 127.0.0.1:1
            topics: [orders]
            group: logs
            properties: { streamctl.connect.timeout.ms: "2000" }
          format: json
        sink:
          stdout: { format: json }
        """.write(to: file, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["run", file.path, "--progress", "off", "--log-format", "json"], timeout: 60)
        #expect(r.status == 69)
        let docs = r.stderr.split(separator: "\n").map { line -> [String: Any]? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        #expect(!docs.isEmpty && docs.allSatisfy { $0 != nil }, "\(r.stderr)")
        let logs = docs.compactMap { $0 }.filter { $0["logger"] != nil }
        #expect(logs.allSatisfy { $0["level"] is String && $0["message"] is String && $0["ts"] is String })
        let kafka = logs.filter { $0["logger"] as? String == "librdkafka" }
        #expect(!kafka.isEmpty, "\(r.stderr)")
        #expect(kafka.contains { ["error", "warning"].contains($0["level"] as? String ?? "") })
        #expect(logs.contains { ($0["message"] as? String)?.contains("cannot reach Kafka at 127.0.0.1:1") == true })
        let summaries = docs.compactMap { $0 }.filter { $0["pipeline"] != nil }
        #expect(summaries.count == 1)
        #expect(summaries.first?["pipeline"] as? String == "log-json")
        #expect(summaries.first?["status"] as? String == "failed")
    }

    /// Every stderr line of `r` as a JSON object; fails the test on a line that is not one.
    func logObjects(_ r: Outcome) -> [[String: Any]] {
        let lines = r.stderr.split(separator: "\n")
        let docs = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(!lines.isEmpty && docs.count == lines.count, "\(r.stderr)")
        return docs
    }

    @Test func validateDevBrokerCheckpointsAndSmokeLogJSONWithTheErrorLevel() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let bad = dir.appendingPathComponent("bad.yaml")
        try "name: bad\nschema: { a: int64 }\nsource: { generator: {} }\noperators:\n  - keyby: a\nsink: { stdout: {} }\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let validate = try streamctlRun(["validate", bad.path, "--log-format", "json"])
        #expect(validate.status == 2)
        let v = logObjects(validate)
        #expect(v.contains { $0["level"] as? String == "error" && ($0["message"] as? String)?.contains("\(bad.path):5:5: error: unknown operator `keyby`") == true })

        let broker = try streamctlRun(["dev-broker", "--topic", "orders:0", "--log-format", "json"])
        #expect(broker.status == 2)
        #expect(logObjects(broker).contains { $0["level"] as? String == "error" })

        let inspect = try streamctlRun(["checkpoints", "inspect", dir.appendingPathComponent("none").path, "7", "--log-format", "json"])
        #expect(inspect.status != 0)
        #expect(logObjects(inspect).contains { $0["level"] as? String == "error" })

        let expect = dir.appendingPathComponent("expected.jsonl")
        try "{\"nothing\":1}\n".write(to: expect, atomically: true, encoding: .utf8)
        let smoke = try streamctlRun(["smoke", "examples/stdout.yaml", "--expect", expect.path, "--log-format", "json"])
        #expect(smoke.status == 8)
        let s = logObjects(smoke)
        #expect(s.contains { $0["level"] as? String == "error" && ($0["message"] as? String)?.contains("output differs") == true })
        #expect(s.filter { $0["pipeline"] != nil }.count == 1, "one summary line")

        let wrong = try streamctlRun(["validate", bad.path, "--log-format", "yaml"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("--log-format takes text or json"))
    }

    @Test(arguments: ["text", "json"])
    func onAPipeTheProgressIsAPlainLogLineEveryInterval(format: String) throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let file = dir.appendingPathComponent("slow.yaml")
        try """
        name: slow
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: unbounded, rate: 500, keys: 20 }
        sink:
          null: {}
        """.write(to: file, atomically: true, encoding: .utf8)
        let errFile = dir.appendingPathComponent("stderr.txt")
        // No --progress: `auto` on a pipe is the log line.
        let p = try startStreamctl(["run", file.path, "--progress-interval", "1s", "--log-format", format], log: errFile)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        func text() -> String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }
        // Gated on the lines themselves: two of them, then stop.
        let deadline = Date().addingTimeInterval(60)
        while text().components(separatedBy: "progress: rows ").count < 3 && Date() < deadline && p.isRunning {
            usleep(50_000)
        }
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let all = text()
        #expect(!all.contains("\r") && !all.contains("\u{1B}"), "no terminal control on a pipe: \(all)")
        let progress = all.split(separator: "\n").filter { $0.contains("progress: rows ") }
        #expect(progress.count >= 2, "\(all)")
        if format == "json" {
            for line in progress {
                let doc = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                #expect(doc?["level"] as? String == "info" && (doc?["message"] as? String)?.hasPrefix("progress: rows ") == true)
            }
        } else {
            #expect(progress.allSatisfy { $0.hasPrefix("progress: rows ") && $0.contains("  rate ") })
        }
    }

    @Test func textLogsStayPlainLines() throws {
        let r = try streamctlRun(["run", "examples/stdout.yaml", "--progress", "off", "--max-records", "10"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("running big-orders with profile steady"))
        #expect(!r.stderr.contains("\"logger\""))
    }
}
