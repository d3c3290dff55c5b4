import Foundation
import Testing

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

    @Test func textLogsStayPlainLines() throws {
        let r = try streamctlRun(["run", "examples/stdout.yaml", "--progress", "off", "--max-records", "10"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("running big-orders with profile steady"))
        #expect(!r.stderr.contains("\"logger\""))
    }
}
