import ArgumentParser
import StreamCore
import StreamKafka
import StreamOps
import StreamPipeline
import StreamRunner
import StreamSinks
import StreamState

#if canImport(Glibc)
    import Glibc
#endif

/// Measurements behind `make bench`. Each prints one line of `name=value` figures.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (run by `make bench`).",
        subcommands: [
            DecodeBench.self, PipelineBench.self, StateBench.self, KafkaBench.self, SwitchCostBench.self, LatencyBench.self,
        ])
}

struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "JSON decode alone, one thread.")
    @Option var rows: Int = 2_000_000
    func run() {
        let r = DecodeBenchmark.run(rows: rows)
        print(
            "bench=decode rows=\(rows) rows_per_s=\(Int(r.rowsPerSecond)) mib_per_s=\(Int(r.bytesPerSecond / 1_048_576))"
        )
    }
}

struct PipelineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro-pipeline",
        abstract:
            "Micro-benchmark of the runtime: generator (1,000 shops, 1 ms apart) → key_by → 1-hour windows "
            + "→ null sink. Not the orders job: see bench/orders.sh for that.")
    @Option var rows: Int = 5_000_000
    @Option var parallelism: Int = 1
    @Option(help: "memory or rocksdb") var state: String = "memory"

    func run() throws {
        let gen = GeneratorSpec(seed: 1, rows: rows, keys: 1000, skew: 1.1, disorderMs: 5_000, stepMs: 1, splits: 8)
        let dir = "/tmp/streamctl-bench-state-\(getpid())"
        defer { _ = system("rm -rf '\(dir)'") }
        let spec = PipelineSpec(
            name: "bench", schema: Schema(GeneratorSource.fields),
            source: SourceSpec(kind: .generator(gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 5_000)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "hourly",
                    kind: .window(
                        WindowSpec(
                            kind: .tumbling(sizeMs: 3_600_000),
                            aggregates: [
                                AggregateSpec(name: "orders", function: .count, field: nil),
                                AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                            ]))),
            ], sink: SinkSpec(kind: .null),
            state: StateSpec(backend: state == "rocksdb" ? .rocksdb : .memory, dir: dir))
        let backend: any KeyedStateBackend =
            state == "rocksdb" ? try RocksStateBackend(spec: spec.state) : MemoryStateBackend()
        let totals = SinkTotals()
        let profile = Profile(name: "bench", parallelism: parallelism, batchSize: 4096, channelCapacity: 8)
        let plan = try JobPlanner.plan(
            spec, profile: profile,
            parts: .init(
                source: GeneratorSource(spec: gen), sink: NullSinkConnector(totals: totals), state: backend))
        let clock = SystemClock()
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail), state: backend)
        let start = clock.monotonicNs()
        try job.start()
        try job.wait()
        let seconds = Double(clock.monotonicNs() &- start) / 1e9
        let out = job.snapshot().workers.filter { $0.stage == "sink" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        print(
            "bench=micro-pipeline state=\(state) parallelism=\(parallelism) rows=\(rows) seconds=\(format1(seconds)) "
                + "rows_per_s=\(Int(Double(rows) / seconds)) windows_out=\(out) "
                + "peak_rss_mib=\(ProcessMemory.peakResidentBytes() >> 20)")
        try backend.close()
    }
}

struct StateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Keyed read-modify-write updates against RocksDB, batched as the window operator does.")
    @Option var keys: Int = 1_000_000
    @Option var updates: Int = 1_000_000
    @Option var memory: String = "256MiB"
    @Option var blockCache: String?
    @Option(help: "An empty directory for the store (default: a fresh temporary one).") var dir: String?

    func run() throws {
        guard let budget = Sizes.parseBytes(memory) else {
            log("error: --memory takes a size like 256MiB")
            throw ExitCode(Exit.config.rawValue)
        }
        let path = dir ?? "/tmp/streamctl-state-bench-\(getpid())"
        defer { if dir == nil { _ = system("rm -rf '\(path)'") } }
        var cache: Int64? = nil
        if let b = blockCache { cache = b == "off" ? 0 : Sizes.parseBytes(b) }
        let r = try StateBenchmark.run(
            keys: keys, updates: updates,
            spec: StateSpec(backend: .rocksdb, dir: path, memoryBytes: budget, blockCacheBytes: cache))
        print(r.description)
    }
}

struct KafkaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract:
            "In one run on one embedded topic: kcat -C -e to /dev/null versus streamctl consume + decode → null sink.")
    @Option var rows: Int = 2_000_000
    @Option var partitions: Int = 64
    @Option var parallelism: Int = 2
    @Option(help: "static or group") var assignment: String = "static"

    func run() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: partitions)
        let clock = SystemClock()
        var t = clock.monotonicNs()
        _ = try OrdersFiller.fill(broker: broker, topic: "orders", rows: rows, partitions: partitions)
        log("filled \(rows) rows into \(partitions) partitions in \(format1(Double(clock.monotonicNs() &- t) / 1e9))s")

        t = clock.monotonicNs()
        let rc = system("kcat -C -b \(broker.bootstrapServers) -t orders -e -q -o beginning > /dev/null 2>&1")
        let kcatSeconds = Double(clock.monotonicNs() &- t) / 1e9
        guard rc == 0 else {
            log("error: kcat failed (exit \(rc)); is kcat installed? (make setup)")
            throw ExitCode(Exit.failure.rawValue)
        }

        let schema = Schema(GeneratorSource.fields)
        let spec = PipelineSpec(
            name: "kafka-bench", schema: schema,
            source: SourceSpec(
                kind: .kafka(KafkaSourceSpec(brokers: broker.bootstrapServers, topics: ["orders"], group: "bench")),
                eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 5_000)),
            operators: [], sink: SinkSpec(kind: .null))
        let kafka = KafkaSourceSpec(
            brokers: broker.bootstrapServers, topics: ["orders"], group: "bench",
            assignment: assignment == "group" ? .group : .static)
        let source = KafkaSourceConnector(
            spec: kafka,
            bootstrap: broker.bootstrapServers,
            decoderFactory: { RecordDecoders.make(format: .json, schema: $0) }, eventTimeFromKafkaTimestamp: false)
        let totals = SinkTotals()
        let profile = Profile(name: "bench", parallelism: parallelism, batchSize: 8192, channelCapacity: 8)
        let plan = try JobPlanner.plan(
            spec, profile: profile,
            parts: .init(
                source: source, sink: NullSinkConnector(totals: totals), state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail), limits: RunLimits(bound: .caughtUp))
        t = clock.monotonicNs()
        try job.start()
        try job.wait()
        let ourSeconds = Double(clock.monotonicNs() &- t) / 1e9
        let read = job.snapshot().workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        let kcatRate = Double(rows) / kcatSeconds
        let ourRate = Double(read) / ourSeconds
        print(
            "bench=kafka rows=\(rows) partitions=\(partitions) kcat_rows_per_s=\(Int(kcatRate)) "
                + "streamctl_rows_per_s=\(Int(ourRate)) streamctl_rows_read=\(read) ratio=\(format1(ourRate / kcatRate * 100) )% "
                + "parallelism=\(parallelism) assignment=\(assignment)")
    }
}
