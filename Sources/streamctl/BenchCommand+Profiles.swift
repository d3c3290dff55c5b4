import ArgumentParser
import Foundation
import Histogram
import StreamCore
import StreamKafka
import StreamPipeline
import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `bench switch-cost`: a live job (generator → dedupe → key_by → 1-minute windows → null sink, checkpoints on)
/// switched between profiles; request-to-applied and stop-the-world milliseconds, without and with a
/// parallelism change (both stateful operators rescaled at the switch's one barrier).
struct SwitchCostBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch-cost", abstract: "Profile switch cost, with and without a parallelism change.")
    @Option var switches: Int = 4

    func run() throws {
        let dir = "/tmp/streamctl-bench-switch-\(getpid())"
        defer { _ = system("rm -rf '\(dir)'") }
        let spec = try benchSpec(
            """
            name: switch-cost
            schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
            source:
              generator: { seed: 1, rows: unbounded, rate: 50000, keys: 1000, splits: 4, step: 1ms, disorder: 1s }
              event_time: { field: ts, max_disorder: 2s }
            operators:
              - dedupe: { key: order_id, ttl: 1m }
              - key_by: shop
              - window: { tumbling: 1m, aggregate: { orders: count(), revenue: sum(amount) } }
            sink:
              null: {}
            state: { backend: rocksdb, dir: \(dir)/state, memory: 128MiB }
            checkpoints: { dir: \(dir)/checkpoints, retain: 2 }
            """, dir: dir)
        var steady = Profile.builtIn["steady"]!
        steady.checkpointIntervalMs = 1_000
        var seasonal = Profile.builtIn["seasonal"]!
        seasonal.checkpointIntervalMs = 1_000
        let runner = JobRunner(spec: spec, profile: steady, options: RunOptions(bindArenas: false))
        try runner.start()
        let stop = StopFlag()
        let supervisor = Thread { _ = runner.wait(shouldStop: { stop.isSet }) }
        supervisor.start()
        defer {
            stop.set()
            while !supervisor.isFinished { usleep(10_000) }
        }
        usleep(2_000_000)
        for (label, parallelism) in [("same_parallelism", 1), ("parallelism_change", 2)] {
            var applied: [Int64] = []
            var paused: [Int64] = []
            var rescaled = 0
            for i in 0..<switches {
                var next = i % 2 == 0 ? seasonal : steady
                next.parallelism = i % 2 == 0 ? parallelism : 1
                let record = try runner.switchProfile(to: next, reason: "bench")
                applied.append(record.appliedMs)
                paused.append(record.pauseMs)
                rescaled = max(rescaled, record.rescaled.count)
                usleep(1_500_000)
            }
            print(
                "bench=switch_cost case=\(label) switches=\(switches) operators_rescaled=\(rescaled) applied_ms_median=\(median(applied)) "
                    + "applied_ms_max=\(applied.max() ?? 0) stop_the_world_ms_median=\(median(paused)) "
                    + "stop_the_world_ms_max=\(paused.max() ?? 0)")
        }
    }
}

/// `bench latency`: Kafka → filter → Kafka sink on the embedded broker, fed live at a fixed rate; the time from
/// a row's produce to the sink's produce of it (the output message's timestamp), p50/p99 by HdrHistogram.
struct LatencyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Produce → sink-produce latency, Kafka → filter → Kafka, live input.")
    @Option var rate: Int = 50_000
    @Option var seconds: Int = 10
    @Option(help: "Seconds of feed at the start left out of the histogram (consumers and producer warming up).")
    var warmup: Int = 3
    @Option var profile: String = "steady"
    @Option(name: .customLong("set"), parsing: .singleValue, help: "KNOB=VALUE over the profile.")
    var settings: [String] = ["checkpoint.interval=1s"]

    func run() throws {
        let dir = "/tmp/streamctl-bench-latency-\(getpid())"
        defer { _ = system("rm -rf '\(dir)'") }
        let spec = try benchSpec(
            """
            name: latency
            schema: { id: int64, t: int64, amount: int64 }
            source:
              kafka: { brokers: embedded, topics: [in], group: bench, start_from: earliest, assignment: static }
              format: json
            operators:
              - filter: "amount >= 0"
            sink:
              kafka: { brokers: embedded, topic: out }
            checkpoints: { dir: \(dir)/checkpoints, retain: 2 }
            """, dir: dir)
        let resolved = try ProfileLoader.resolveSourced(
            name: profile, spec: spec, searchDirectories: ["profiles"], settings: try KnobSettings.parse(settings))
        let runner = JobRunner(spec: spec, profile: resolved.profile, options: RunOptions(bindArenas: false))
        try runner.start()
        let stop = StopFlag()
        let supervisor = Thread { _ = runner.wait(shouldStop: { stop.isSet }) }
        supervisor.start()
        guard let broker = runner.assembly?.embedded else { throw ValidationError("no embedded broker") }
        usleep(1_000_000)  // consumers assigned and fetching

        // Every 10 ms, the rows that keep the rate, each stamped with its produce time.
        let perTick = max(1, rate / 100)
        let partitions: Int32 = 8
        var id = 0
        let started = SystemClock().monotonicNs()
        let feedStartMs = SystemClock().nowMs()
        for tick in 0..<((seconds + warmup) * 100) {
            let due = started + UInt64(tick) * 10_000_000
            let now = SystemClock().monotonicNs()
            if due > now { usleep(UInt32((due - now) / 1_000)) }
            var values: [[[UInt8]]] = Array(repeating: [], count: Int(partitions))
            let t = SystemClock().nowMs()
            for _ in 0..<perTick {
                values[id % Int(partitions)].append(Array("{\"id\":\(id),\"t\":\(t),\"amount\":\(id % 100)}".utf8))
                id += 1
            }
            try broker.produce(topic: "in", byPartition: values, wait: false)
        }
        try broker.produce(topic: "in", byPartition: [])
        let produceSeconds = Double(SystemClock().monotonicNs() - started) / 1e9
        // Let the last rows through, then stop (a final checkpoint).
        var waited = 0
        while (runner.job?.rowsReadTotal ?? 0) < id, waited < 30_000 {
            usleep(10_000)
            waited += 10
        }
        usleep(500_000)
        stop.set()
        while !supervisor.isFinished { usleep(10_000) }

        let text = try readTopic(bootstrap: broker.bootstrapServers, topic: "out")
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: .three)
        var all = histogram
        var count = 0
        var worstBySecond: [Int64: Int64] = [:]
        for line in text.split(separator: "\n") {
            // `%T %s`: the output message's timestamp (set at the sink's produce) and its JSON value.
            guard let space = line.firstIndex(of: " "), let produced = Int64(line[..<space]),
                let r = line.range(of: "\"t\":")
            else { continue }
            let digits = line[r.upperBound...].prefix { $0.isNumber }
            guard let t = Int64(digits) else { continue }
            let latency = max(0, produced - t)
            let second = (t - feedStartMs) / 1000
            worstBySecond[second] = max(worstBySecond[second] ?? 0, latency)
            _ = all.record(UInt64(latency))
            guard second >= warmup else { continue }
            _ = histogram.record(UInt64(latency))
            count += 1
        }
        print(
            "bench=latency profile=\(profile) settings=\(settings.joined(separator: ",")) rate=\(rate) warmup_s=\(warmup) "
                + "achieved_rate=\(Int(Double(id) / produceSeconds)) rows=\(id) measured=\(count) "
                + "p50_ms=\(histogram.valueAtPercentile(50)) p90_ms=\(histogram.valueAtPercentile(90)) "
                + "p99_ms=\(histogram.valueAtPercentile(99)) p99_9_ms=\(histogram.valueAtPercentile(99.9)) "
                + "max_ms=\(histogram.max) with_warmup_p99_ms=\(all.valueAtPercentile(99)) worst_ms_per_second="
                + worstBySecond.sorted { $0.key < $1.key }.map { String($0.value) }.joined(separator: ","))
    }

    func readTopic(bootstrap: String, topic: String) throws -> String {
        let out = "/tmp/streamctl-bench-latency-\(getpid())-out.txt"
        defer { unlink(out) }
        let status = system("kcat -C -b '\(bootstrap)' -t \(topic) -e -q -f '%T %s\\n' > '\(out)' 2>/dev/null")
        guard status == 0 else { throw ValidationError("kcat failed (make bench installs it)") }
        return try String(contentsOfFile: out, encoding: .utf8)
    }
}

/// A stop request shared with the supervising thread.
final class StopFlag: @unchecked Sendable {
    private var flag = false
    private let lock = NSLock()
    var isSet: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

/// Writes `yaml` as a pipeline file in `dir` and loads it.
func benchSpec(_ yaml: String, dir: String) throws -> PipelineSpec {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/pipeline.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    do throws(PipelineErrors) { return try PipelineLoader.load(path: path) } catch {
        throw ValidationError(error.rendered)
    }
}

func median(_ values: [Int64]) -> Int64 {
    let s = values.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}
