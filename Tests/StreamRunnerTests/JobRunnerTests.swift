import Foundation
import StreamCore
import StreamPipeline
import StreamRunner
import Testing

/// Drives the runner in-process, as the command line does, on real files and the embedded broker.
@Suite struct JobRunnerTests {
    func pipeline(_ yaml: String) throws -> PipelineSpec {
        try PipelineLoader.load(yaml: yaml, file: "test.yaml")
    }

    func generatorYAML(out: String) -> String {
        """
        name: runner-test
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 3, rows: 2000, keys: 20, splits: 2, step: 1s, start_time: "2026-11-27T00:00:00Z" }
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window: { tumbling: 10m, aggregate: { orders: count() } }
        sink:
          file: { path: \(out), format: json }
        state: { backend: memory }
        """
    }

    /// Sum of the `orders` field over every part file under `dir`.
    func countedOrders(under dir: URL) throws -> Int {
        var total = 0
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.lastPathComponent.hasPrefix("part-") {
            for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
                let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                total += (row["orders"] as! NSNumber).intValue
            }
        }
        return total
    }

    @Test func runsAJobToItsEndAndSummarisesIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try pipeline(generatorYAML(out: dir.path))
        let runner = JobRunner(spec: spec, profile: Profile(name: "test"), options: RunOptions(bindArenas: false))
        let outcome = try runner.run()
        #expect(outcome.failure == nil)
        #expect(outcome.summary.status == "ok")
        #expect(outcome.summary.json.contains("\"rows_in\":2000"))
        #expect(try countedOrders(under: dir) == 2000)
    }

    @Test func restartRunsTheJobAgainWithFreshParts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try pipeline(generatorYAML(out: dir.path))
        let runner = JobRunner(spec: spec, profile: Profile(name: "test"), options: RunOptions(bindArenas: false))
        _ = try runner.run()
        try runner.restart()
        let second = runner.wait()
        #expect(second.failure == nil)
        #expect(runner.starts == 2)
        // Memory state starts empty again and the generator replays: the output holds both runs.
        #expect(try countedOrders(under: dir) == 4000)
    }

    @Test func restartKeepsTheEmbeddedBrokerAndItsData() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try pipeline(
            """
            name: runner-kafka
            schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
            source:
              kafka: { brokers: embedded, topics: [orders], group: g, start_from: earliest, assignment: static }
              format: json
              event_time: { field: ts, max_disorder: 5s }
            operators:
              - key_by: shop
              - window: { tumbling: 1h, aggregate: { orders: count() } }
            sink:
              file: { path: \(dir.path), format: json }
            state: { backend: memory }
            """)
        let options = RunOptions(
            bound: .caughtUp, embeddedFill: EmbeddedFill(partitions: 4, generateRows: 3000), bindArenas: false)
        let runner = JobRunner(spec: spec, profile: Profile(name: "test"), options: options)
        let first = try runner.run()
        let address = runner.assembly?.embedded?.bootstrapServers
        #expect(first.summary.json.contains("\"rows_in\":3000"))
        try runner.restart()
        let second = runner.wait()
        #expect(runner.assembly?.embedded?.bootstrapServers == address)
        // Filled once: the second run reads the same 3,000 orders, not 6,000.
        #expect(second.summary.json.contains("\"rows_in\":3000"))
        #expect(try countedOrders(under: dir) == 6000)
    }

    @Test func stopRequestEndsAnUnboundedJob() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var yaml = generatorYAML(out: dir.path)
        yaml = yaml.replacingOccurrences(of: "rows: 2000", with: "rows: unbounded, rate: 1000")
        let spec = try pipeline(yaml)
        let runner = JobRunner(spec: spec, profile: Profile(name: "test"), options: RunOptions(bindArenas: false))
        try runner.start()
        // Stop once the job has read something; the supervisor sees the request on its next look.
        let outcome = runner.wait(shouldStop: { (runner.job?.rowsReadTotal ?? 0) > 0 })
        #expect(outcome.failure == nil)
        #expect(outcome.summary.status == "ok")
        #expect(runner.job?.isFinished == true)
    }
}
