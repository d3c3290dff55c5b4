import Foundation
import StreamControl
import StreamCore
import StreamPipeline
import StreamRunner
import Testing

/// The control endpoint of an in-process job held back by a throttled sink: `/metrics` read by a strict
/// Prometheus text parser (`PrometheusText`), `/status` as JSON, both checked against the job's own figures.
@Suite(.serialized) struct ControlEndpointTests {
    static func heldJob(dir: URL, parallelism: Int) throws -> JobRunner {
        let spec = try PipelineLoader.load(
            yaml: """
                name: held
                schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
                source:
                  generator: { seed: 1, rows: 50000000, keys: 20 }
                operators:
                  - filter: "amount >= 0"
                sink:
                  null: {}
                state: { backend: memory, dir: \(dir.path) }
                """, file: "held.yaml")
        var profile = Profile(name: "held", parallelism: parallelism, batchSize: 256, channelCapacity: 2)
        profile.sinkRecordsPerSecond = 2000
        return JobRunner(spec: spec, profile: profile, options: RunOptions(bindArenas: false))
    }

    /// Polls until `condition` holds on what `fetch` returns (bounded: rates need a second of samples, and a
    /// loaded machine can take a while to complete a first checkpoint).
    func eventually<T>(_ fetch: () throws -> T, _ condition: (T) -> Bool) throws -> T {
        let deadline = Date().addingTimeInterval(60)
        var last = try fetch()
        while !condition(last) && Date() < deadline {
            usleep(200_000)
            last = try fetch()
        }
        return last
    }

    @Test(arguments: [1, 2])
    func metricsParseAsPrometheusTextWithTheJobsFiguresDuringARun(parallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let runner = try Self.heldJob(dir: dir, parallelism: parallelism)
        try runner.start()
        let control = RunControl(runner: runner)
        try control.start(address: ControlAddress(port: 0))
        defer {
            control.stop()
            runner.requestStop()
            _ = runner.wait()
        }
        let url = try #require(control.url)
        let client = try #require(ControlClient(url: url))
        let file = try ControlFile.read(stateDir: dir.path)
        #expect(file.url == control.url && file.pid == getpid() && file.pipeline == "held")

        func metrics() throws -> PrometheusText {
            let (code, body) = try client.request(.GET, "/metrics")
            #expect(code == 200)
            return try PrometheusText(String(decoding: body, as: UTF8.self))
        }
        let m = try eventually(metrics) { m in
            m.values("streamctl_worker_back_pressured", where: ["stage": "filter-1"]).contains(1)
                && (m.values("streamctl_worker_rows_in_total", where: ["stage": "sink"]).reduce(0, +)) > 0
        }
        // Every sample belongs to a declared family; counters, and only counters, end in _total.
        for s in m.samples {
            let type = m.types[s.name]
            #expect(type != nil, "\(s.name) has no TYPE line")
            #expect((type == "counter") == s.name.hasSuffix("_total"), "\(s.name) is a \(type ?? "?")")
            #expect(s.value.isFinite && s.value >= 0, "\(s.name) = \(s.value)")
        }
        #expect(m.values("streamctl_up") == [1])
        #expect(m.values("streamctl_profile_info", where: ["profile": "held"]) == [1])
        #expect((m.values("streamctl_process_resident_bytes").first ?? 0) > 1_048_576)
        for stage in ["source", "filter-1", "sink"] {
            #expect(m.values("streamctl_worker_rows_in_total", where: ["stage": stage]).count == parallelism)
            for w in 0..<parallelism {
                let l = ["stage": stage, "worker": String(w)]
                let total = ["busy", "idle", "back_pressured"].map {
                    m.values("streamctl_worker_time_ms_per_second", where: l.merging(["state": $0]) { $1 }).first ?? -1
                }
                #expect(total.allSatisfy { $0 >= 0 && $0 <= 1000 }, "\(stage)/\(w): \(total)")
            }
        }
        // Rows out of the filter: at most what came in (a plain computation: it keeps every row).
        let filterIn = m.values("streamctl_worker_rows_in_total", where: ["stage": "filter-1"]).reduce(0, +)
        let filterOut = m.values("streamctl_worker_rows_out_total", where: ["stage": "filter-1"]).reduce(0, +)
        #expect(filterOut <= filterIn && filterIn > 0)
        #expect(!m.values("streamctl_sink_throttled_seconds_total").isEmpty)

        // /status is the same job as JSON: the filter back-pressured, the throttled sink not. Both are rates
        // over the endpoint's last second, so they are awaited, not sampled once (a loaded machine can make
        // one second look different).
        let status = try eventually({ try client.status() }) { s in
            s.stages.first { $0.id == "filter-1" }?.backPressured == true
                && s.stages.first { $0.id == "sink" }?.backPressured == false
        }
        #expect(status.pipeline == "held" && status.running)
        #expect(status.stages.map(\.id) == ["source", "filter-1", "sink"])
        #expect(status.stages.first { $0.id == "filter-1" }?.backPressured == true)
        #expect(status.stages.first { $0.id == "sink" }?.backPressured == false)
        #expect(status.workers.count == 3 * parallelism)
        #expect(status.intervalSeconds > 0)
        let snapshot = try #require(runner.snapshot())
        #expect(status.rowsRead <= snapshot.workers.filter { $0.stage == "source" }.reduce(0) { $0 + $1.rowsIn })
    }

    @Test func registeredRoutesAreServedBesideTheBuiltInOnes() throws {
        struct Fixed: ControlSource {
            func controlSnapshot() -> ControlSnapshot {
                ControlSnapshot(
                    pipeline: "fixed", profile: "steady", pid: 1, startedAtMs: 0, running: true,
                    job: JobSnapshot(takenAtNs: 1, workers: [], state: [:]), stages: [],
                    memory: MemoryFigures(processResidentBytes: 1, budgetBytes: nil))
            }
        }
        let endpoint = ControlEndpoint(source: Fixed(), address: ControlAddress(port: 0))
        endpoint.register("GET", "/profile") { _ in .json(["profile": "steady"]) }
        let url = try endpoint.start()
        defer { endpoint.stop() }
        let client = try #require(ControlClient(url: url))
        let (code, body) = try client.request(.GET, "/profile")
        #expect(code == 200)
        #expect(String(decoding: body, as: UTF8.self) == #"{"profile":"steady"}"#)
        let heap = try client.request(.POST, "/heap-profile")
        #expect(heap.status == 501)
        #expect(try client.status().pipeline == "fixed")
    }

    @Test func addressesDefaultToLoopback() {
        #expect(ControlAddress("9464") == ControlAddress(host: "127.0.0.1", port: 9464))
        #expect(ControlAddress(":0") == ControlAddress(host: "127.0.0.1", port: 0))
        #expect(ControlAddress("[::1]:80") == ControlAddress(host: "::1", port: 80))
        #expect(ControlAddress("0.0.0.0:9464")?.isLoopback == false)
        #expect(ControlAddress("localhost:port") == nil)
        #expect(ControlAddress("127.0.0.1:70000") == nil)
    }
}
