import Foundation
import StreamControl
import StreamCore
import StreamPipeline
import StreamRunner
import Synchronization
import Testing

/// The operations families of `/metrics` and `/status` during a real run: a Kafka source on the embedded broker
/// (4 partitions, loaded with a known file), RocksDB state, checkpoints every 300 ms, dead letters, and a
/// sink throttled to 1000 rows/s so the job is still behind while the test looks. Every figure is compared
/// with what a plain computation over the loaded file allows.
///
/// Part of `ControlEndpointTests` (serialized): two endpoints stopped at once by synchronous tests can hold
/// both of a 2-core machine's cooperative threads while Hummingbird's shutdown needs one.
extension ControlEndpointTests {
    static let loadedPartitions = 4
    static let goodRows = 60_000
    static let disorderMs: Int64 = 5_000
    /// Lines that are not JSON, and JSON whose order_id is not a number: dead letters by reason.
    static let malformed = ["not json", "{\"order_id\": 1,", "]]"]
    static let mismatched = [
        #"{"order_id":"x","shop":"s1","amount":1.00,"ts":1}"#, #"{"order_id":true,"shop":"s2","amount":2.00,"ts":1}"#,
    ]

    /// The loaded lines, and per partition (line i goes to partition i % 4, as the broker round-robins) the
    /// number of messages and the oldest and newest event time of its good rows.
    struct LoadedOrders {
        var lines: [String] = []
        var count = [Int](repeating: 0, count: ControlEndpointTests.loadedPartitions)
        var minTs = [Int64](repeating: .max, count: ControlEndpointTests.loadedPartitions)
        var maxTs = [Int64](repeating: .min, count: ControlEndpointTests.loadedPartitions)

        init(baseMs: Int64) {
            lines = ControlEndpointTests.malformed + ControlEndpointTests.mismatched
            for j in 0..<ControlEndpointTests.goodRows {
                let ts = baseMs + Int64(j) * 1000
                lines.append(#"{"order_id":\#(j),"shop":"s\#(j % 7)","amount":\#(j % 100).50,"ts":\#(ts)}"#)
                let p = (lines.count - 1) % ControlEndpointTests.loadedPartitions
                minTs[p] = min(minTs[p], ts)
                maxTs[p] = max(maxTs[p], ts)
            }
            for i in lines.indices { count[i % ControlEndpointTests.loadedPartitions] += 1 }
        }
    }

    @Test(arguments: [1, 2])
    func partitionCheckpointSwitchDeadLetterAndMemoryFamiliesCarrySaneValuesDuringARun(parallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opsmetrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let baseMs = Int64(Date().timeIntervalSince1970 * 1000) - 86_400_000
        let data = LoadedOrders(baseMs: baseMs)
        let input = dir.appendingPathComponent("orders.jsonl")
        try (data.lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let deadLetters = dir.appendingPathComponent("bad.jsonl")
        let spec = try PipelineLoader.load(
            yaml: """
                name: observed
                schema: { order_id: int64, shop: string, amount: decimal(2), ts: timestamp }
                source:
                  kafka: { brokers: embedded, topics: [orders], group: g, start_from: earliest, assignment: static }
                  format: json
                  event_time: { field: ts, max_disorder: 5s, max_ahead: off }
                  on_bad_record: dead_letter
                  dead_letter_path: \(deadLetters.path)
                operators:
                  - filter: "amount >= 0"
                sink:
                  null: {}
                state: { backend: rocksdb, dir: \(dir.path)/state, memory: 64MiB }
                checkpoints: { dir: \(dir.path)/checkpoints, retain: 2 }
                """, file: "observed.yaml")
        var profile = Profile(
            name: "held", parallelism: parallelism, batchSize: 256, channelCapacity: 2, checkpointIntervalMs: 300)
        profile.sinkRecordsPerSecond = 1000
        let runner = JobRunner(
            spec: spec, profile: profile,
            options: RunOptions(
                embeddedFill: EmbeddedFill(partitions: Self.loadedPartitions, loadFile: input.path), bindArenas: false))
        try runner.start()
        let control = RunControl(runner: runner)
        try control.start(address: ControlAddress(port: 0))
        // The supervisor (checkpoints, the switch's barrier) runs as `streamctl run` runs it, on its own thread.
        let supervised = DispatchSemaphore(value: 0)
        let supervisor = Thread {
            _ = runner.wait()
            supervised.signal()
        }
        supervisor.start()
        defer {
            runner.requestStop()
            supervised.wait()
            control.stop()
        }
        let url = try #require(control.url)
        let client = try #require(ControlClient(url: url))
        func metrics() throws -> PrometheusText {
            let (code, body) = try client.request(.GET, "/metrics")
            #expect(code == 200)
            return try PrometheusText(String(decoding: body, as: UTF8.self))
        }

        var m = try eventually(metrics) { (m: PrometheusText) -> Bool in
            let completed: Double = m.value("streamctl_checkpoints_total", where: ["result": "completed"]) ?? 0
            let watermarks: Int = m.series("streamctl_source_partition_watermark_seconds").count
            let malformed: Double? = m.value("streamctl_dead_letters_total", where: ["reason": "malformed"])
            let mismatched: Double? = m.value("streamctl_dead_letters_total", where: ["reason": "type_mismatch"])
            return completed >= 1 && watermarks == Self.loadedPartitions && malformed == 3 && mismatched == 2
        }
        for s in m.samples {
            let type = m.types[s.name]
            #expect(type != nil, "\(s.name) has no TYPE line")
            #expect((type == "counter") == s.name.hasSuffix("_total"), "\(s.name) is a \(type ?? "?")")
            #expect(s.value.isFinite && s.value >= 0, "\(s.name) = \(s.value)")
        }
        // docs/operations.md's reference names every family the endpoint serves.
        let docs = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/operations.md"), encoding: .utf8)
        for family in m.types.keys.sorted() where !family.hasPrefix("streamctl_operator_") {
            #expect(docs.contains("`\(family)`"), "docs/operations.md does not list \(family)")
        }
        let now = Double(Date().timeIntervalSince1970)

        // Per partition: lag within what the partition holds, watermark and event-time lag within its rows.
        #expect(Set(m.series("streamctl_source_partition_lag_rows").map { $0.labels["partition"] ?? "" })
            == Set((0..<Self.loadedPartitions).map(String.init)))
        var lagSum = 0.0
        for p in 0..<Self.loadedPartitions {
            let l = ["topic": "orders", "partition": String(p)]
            let lag = try #require(m.value("streamctl_source_partition_lag_rows", where: l))
            #expect(lag >= 0 && lag <= Double(data.count[p]), "partition \(p): lag \(lag) of \(data.count[p])")
            lagSum += lag
            let wm = try #require(m.value("streamctl_source_partition_watermark_seconds", where: l))
            #expect(wm >= Double(data.minTs[p] - Self.disorderMs) / 1000 && wm <= Double(data.maxTs[p] - Self.disorderMs) / 1000)
            let behind = try #require(m.value("streamctl_source_partition_event_time_lag_seconds", where: l))
            #expect(behind >= now - Double(data.maxTs[p]) / 1000 - 120 && behind <= now - Double(data.minTs[p]) / 1000 + 1)
        }
        // Held by the sink's throttle: most of the 60,000 rows are still behind.
        #expect(lagSum > 0 && lagSum <= Double(data.lines.count))

        // Checkpoints: the completed ones counted, the last one's figures present and sane.
        #expect(m.value("streamctl_checkpoints_total", where: ["result": "failed"]) != nil)
        #expect(m.value("streamctl_checkpoints_total", where: ["result": "aborted"]) != nil)
        #expect((m.value("streamctl_checkpoint_last_completed_id") ?? 0) >= 1)
        for family in ["streamctl_checkpoint_last_duration_seconds", "streamctl_checkpoint_last_pause_seconds"] {
            let v = try #require(m.value(family), "\(family)")
            #expect(v >= 0 && v < 60, "\(family) = \(v)")
        }
        #expect(m.value("streamctl_checkpoint_last_size_bytes") != nil)

        // Dead letters: by reason, as many as the file holds, and every other reason at 0.
        for reason in DecodeError.reasons where !["malformed", "type_mismatch"].contains(reason) {
            #expect(m.value("streamctl_dead_letters_total", where: ["reason": reason]) == 0, "\(reason)")
        }
        let written = try String(contentsOf: deadLetters, encoding: .utf8).split(separator: "\n")
        #expect(written.count == Self.malformed.count + Self.mismatched.count)

        // Memory against the budget.
        #expect(m.value("streamctl_memory_budget_bytes") == Double(64 * 1_048_576))
        let rss = try #require(m.value("streamctl_process_resident_bytes"))
        let ratio = try #require(m.value("streamctl_memory_budget_used_ratio"))
        #expect(abs(ratio - rss / (64 * 1_048_576)) < 1e-6)

        // A profile switch: counted, its cost exported, the profile gauge moved (the old series gone).
        #expect(m.value("streamctl_profile_switches_total") == 0)
        #expect(m.value("streamctl_profile_info", where: ["profile": "held"]) == 1)
        var next = profile
        next.name = "held-2"
        next.batchSize = 128
        let record = try runner.switchProfile(to: next, reason: "test")
        m = try eventually(metrics) { (m: PrometheusText) -> Bool in m.value("streamctl_profile_switches_total") == 1 }
        #expect(m.value("streamctl_profile_info", where: ["profile": "held-2"]) == 1)
        #expect(m.values("streamctl_profile_info", where: ["profile": "held"]).isEmpty)
        #expect(m.value("streamctl_profile_last_switch_pause_seconds") == Double(record.pauseMs) / 1000)
        #expect(m.value("streamctl_profile_last_switch_applied_seconds") == Double(record.appliedMs) / 1000)

        // /status: the same figures as JSON.
        let (code, body) = try client.request(.GET, "/status")
        #expect(code == 200)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let parts = try #require(doc["partitions"] as? [[String: Any]])
        #expect(parts.count == Self.loadedPartitions)
        for p in parts {
            let newest = try #require(p["newest_event_time_ms"] as? Int64)
            #expect(p["watermark_ms"] as? Int64 == newest - Self.disorderMs)
            #expect(p["topic"] as? String == "orders")
            #expect((p["lag_rows"] as? Int64 ?? -1) >= 0)
            #expect((p["event_time_lag_seconds"] as? Double ?? -1) > 0)
        }
        let checkpoints = try #require(doc["checkpoints"] as? [String: Any])
        #expect((checkpoints["completed"] as? Int ?? 0) >= 1)
        #expect(checkpoints["last_id"] is Int)
        let bad = try #require(doc["bad_records"] as? [String: Any])
        #expect(bad["policy"] as? String == "dead_letter")
        #expect((bad["by_reason"] as? [String: Int]) == ["malformed": 3, "type_mismatch": 2])
        let last = try #require(doc["last_profile_switch"] as? [String: Any])
        #expect(last["to"] as? String == "held-2" && last["from"] as? String == "held")
        let memory = try #require(doc["memory"] as? [String: Any])
        #expect((memory["budget_used_ratio"] as? Double ?? 0) > 0)
    }

    @Test func theParserRefusesWhatIsNotTheTextFormat() {
        for bad in [
            "a_total 1",  // no newline at the end
            "# TYPE a counter\n# TYPE a counter\na 1\n",  // a second TYPE
            "a{b=\"c\"} x\n",  // not a number
            "a{b=\"c\\t\"} 1\n",  // an escape the format does not have
            "a{__b=\"c\"} 1\n",  // a reserved label name
            "a 1\nb 1\na 2\n",  // a family's samples apart
            "a{b=\"c\"} 1\na{b=\"c\"} 2\n",  // one series twice
            "1a 1\n",  // not a metric name
        ] {
            #expect(throws: PrometheusText.Malformed.self, "\(bad)") { try PrometheusText(bad) }
        }
        let ok = try? PrometheusText("# HELP a A.\n# TYPE a gauge\na{b=\"x\\\"y\\n\"} -Inf 123\n")
        #expect(ok?.value("a", where: ["b": "x\"y\n"]) == -.infinity)
    }
}
