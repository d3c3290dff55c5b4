import StreamCore
import StreamKafka
import StreamPipeline
import StreamSinks
import StreamState

/// Resolves a validated pipeline into real parts: the embedded broker when asked for, the source and sink
/// connectors, the state backend, and the job plan.
public final class JobAssembly {
    public let spec: PipelineSpec
    public let profile: Profile
    /// Started when the source or sink says `brokers: embedded`.
    public let embedded: EmbeddedBroker?
    public let state: any KeyedStateBackend
    public let plan: JobPlan
    /// The sink's connector (it publishes what checkpoints staged).
    public let sink: any SinkConnector
    /// The source's connector.
    public let source: any SourceConnector
    /// Where the output goes, for the summary.
    public let outputDescription: String
    public let sinkTotals = SinkTotals()
    /// Raised when the run is stopped before its input ended: the file sink then marks what it commits.
    public let earlyStop = EarlyStopFlag()
    /// The filesystem under the RocksDB state directory, for the run log.
    public var stateFilesystem: String? { (state as? RocksStateBackend)?.filesystem }

    /// Resolves the parts. `broker` reuses an embedded broker of an earlier assembly (a restart), which is
    /// then neither started nor filled again. `bound` tells a live run (an unbounded Kafka source, whose
    /// event times are checked against the wall clock too) from a backfill.
    public init(
        spec given: PipelineSpec, profile: Profile, embeddedFill: EmbeddedFill?, clock: any StreamClock,
        broker reused: EmbeddedBroker? = nil, bound: SourceBound = .unbounded
    ) throws(StreamError) {
        // Event time from the Kafka message timestamp: rows carry it as a `kafka_timestamp` field, which the
        // windows then use like any timestamp field.
        var spec = given
        if case .kafka = spec.source.kind, var eventTime = spec.source.eventTime, eventTime.field == nil {
            let field = Field(KafkaSourceConnector.timestampField, .timestamp, nullable: true)
            if spec.schema.index(of: field.name) == nil { spec.schema = Schema(spec.schema.fields + [field]) }
            eventTime.field = field.name
            spec.source.eventTime = eventTime
        }
        self.spec = spec
        self.profile = profile

        var embeddedBroker: EmbeddedBroker? = reused
        func bootstrap(_ brokers: String, creating topics: [String]) throws(StreamError) -> String {
            guard brokers == "embedded" else { return brokers }
            let broker: EmbeddedBroker
            if let e = embeddedBroker {
                broker = e
            } else {
                broker = try EmbeddedBroker()
                embeddedBroker = broker
            }
            if reused == nil {
                for t in topics { try broker.createTopic(t, partitions: embeddedFill?.partitions ?? 8) }
            }
            return broker.bootstrapServers
        }

        let source: any SourceConnector
        switch spec.source.kind {
        case .generator(let g):
            source = GeneratorSource(spec: g)
        case .file(let f):
            let format = spec.source.format
            let eventTime = spec.source.eventTime
            source = try FileSource(spec: f, format: format) { schema, header in
                RecordDecoders.guarded(
                    RecordDecoders.make(format: format, schema: schema, csvHeader: header), schema: schema,
                    spec: eventTime, wallClock: nil)
            }
        case .kafka(let k):
            let address = try bootstrap(k.brokers, creating: k.topics)
            if k.brokers == "embedded", reused == nil, let fill = embeddedFill, let broker = embeddedBroker {
                try fill.load(into: broker, topic: k.topics[0], schema: spec.schema)
            }
            let format = spec.source.format
            let eventTime = spec.source.eventTime
            let wallClock: (any StreamClock)? = bound == .unbounded ? clock : nil
            source = KafkaSourceConnector(
                spec: k, bootstrap: address,
                decoderFactory: { schema in
                    RecordDecoders.guarded(
                        RecordDecoders.make(format: format, schema: schema), schema: schema, spec: eventTime,
                        wallClock: wallClock)
                },
                eventTimeFromKafkaTimestamp: spec.source.eventTime?.field == KafkaSourceConnector.timestampField,
                prefetchBudgetBytes: KafkaPrefetch.budgetBytes(stateMemoryBytes: spec.state.memoryBytes))
        }

        // The schema reaching the sink is the last stage's output; plan once with a placeholder sink to learn it.
        let sink: any SinkConnector
        self.source = source
        var sinkPartitioning: Partitioning? = nil
        switch spec.sink.kind {
        case .stdout(let format):
            sink = StdoutSinkConnector(format: format)
            outputDescription = "stdout"
        case .null:
            sink = NullSinkConnector(totals: sinkTotals)
            outputDescription = "null"
        case .file(let f):
            sink = FileSinkConnector(spec: f, earlyStop: earlyStop)
            outputDescription = f.path
        case .kafka(let k):
            let address = try bootstrap(k.brokers, creating: [k.topic])
            sink = KafkaSinkConnector(spec: k, bootstrap: address) { batch, row in
                JSONRowEncoder.jsonMessage(batch, row: row)
            }
            outputDescription = "kafka \(address) topic \(k.topic)"
        }

        embedded = embeddedBroker
        self.sink = sink
        switch spec.state.backend {
        case .memory: state = MemoryStateBackend()
        case .rocksdb:
            try Directories.create(spec.state.dir)
            state = try RocksStateBackend(spec: spec.state)
        }

        let lateFiles = LateOutputFiles(spec: spec)
        var parts = JobPlanner.Parts(
            source: source, sink: sink, state: state, clock: clock,
            lateOutput: { id in lateFiles.writer(for: id) })
        let draft = try JobPlanner.plan(spec, profile: profile, parts: parts)
        if case .file(let f) = spec.sink.kind, f.keyByBucket, let template = f.bucket {
            let sinkSchema = draft.stages.last!.outputSchema
            let bucket: BucketTemplate
            do { bucket = try BucketTemplate(template, schema: sinkSchema) } catch {
                throw StreamError(.config, "sink bucket `\(template)`: \(error.message)")
            }
            sinkPartitioning = .hashed { batch in
                var b = bucket
                return (0..<batch.count).map { b.bucketHash(batch, row: $0) }
            }
            parts.sinkPartitioning = sinkPartitioning
            plan = try JobPlanner.plan(spec, profile: profile, parts: parts)
        } else {
            plan = draft
        }
    }
}

/// Data to put into the embedded broker before the job starts (`--generate N`, `--load FILE`).
public struct EmbeddedFill: Sendable {
    public var partitions: Int
    public var generateRows: Int?
    public var loadFile: String?
    public var keyField: String?

    public init(partitions: Int, generateRows: Int? = nil, loadFile: String? = nil, keyField: String? = nil) {
        self.partitions = partitions
        self.generateRows = generateRows
        self.loadFile = loadFile
        self.keyField = keyField
    }

    /// Whether there is anything to put into the broker.
    public var isEmpty: Bool { generateRows == nil && loadFile == nil }

    public func load(into broker: EmbeddedBroker, topic: String, schema: Schema) throws(StreamError) {
        if let file = loadFile {
            let n = try broker.load(jsonLines: file, topic: topic, keyField: keyField)
            RunLog.write("embedded broker: loaded \(n) rows from \(file) into \(topic)")
        }
        if let rows = generateRows {
            let n = try OrdersFiller.fill(broker: broker, topic: topic, rows: rows, partitions: partitions)
            RunLog.write("embedded broker: generated \(n) orders into \(topic) (\(partitions) partitions)")
        }
    }
}

/// Fills a topic with generated orders as JSON, keyed by order id (so each shop spreads over every
/// partition, the hard case for event time).
public enum OrdersFiller {
    /// The orders `--generate N` produces: 500 skewed shops, one order every 2.6 s of event time (a million
    /// orders span 30 days), up to 3 s out of order.
    public static func spec(rows: Int) -> GeneratorSpec {
        GeneratorSpec(
            seed: 2026, rows: rows, keys: 500, skew: 1.1, disorderMs: 3_000, startTime: 1_795_000_000_000,
            stepMs: 2_600, splits: 1)
    }

    public static func fill(broker: EmbeddedBroker, topic: String, rows: Int, partitions: Int) throws(StreamError)
        -> Int
    {
        let gen = GeneratorSource(spec: spec(rows: rows))
        let schema = Schema(GeneratorSource.fields)
        let encoder = JSONRowEncoder(schema: schema)
        // Generated orders encode to at most ~125 bytes with framing and key: refuse before producing what the
        // mock cluster would silently drop.
        let perPartition = (rows + partitions - 1) / partitions
        let need = perPartition * 150
        if need > MockRetention.maxBytes {
            let fit = partitions * ((need + MockRetention.maxBytes - 1) / MockRetention.maxBytes)
            throw StreamError(
                .config,
                "\(rows) orders in \(partitions) partitions would overflow the embedded broker's retention: about "
                    + "\(need) bytes per partition, but it keeps at most \(MockRetention.maxBytes) bytes (5 MiB) per "
                    + "partition and silently drops the oldest beyond that; use at least \(fit) partitions "
                    + "(`--partitions` on `run`, `--topic NAME:\(fit)` on `dev-broker`)"
            )
        }
        let chunk = 50_000
        var done = 0
        let reader = try gen.openReader(
            SourceContext(
                worker: 0, workers: 1, schema: schema, spec: SourceSpec(kind: .generator(gen.spec)),
                profile: Profile(name: "fill"), badRecords: BadRecordHandler(policy: .fail)))
        while done < rows {
            var batch = Batch(schema: schema, capacity: chunk)
            _ = try reader.poll(into: &batch, maxRows: min(chunk, rows - done), timeoutMs: 0)
            var messages: [(key: [UInt8]?, value: [UInt8])] = []
            messages.reserveCapacity(batch.count)
            for r in 0..<batch.count {
                var value: [UInt8] = []
                encoder.encode(batch, row: r, into: &value)
                messages.append((key: Array(String(batch.columns[0].int64s[r]).utf8), value: value))
            }
            try broker.produce(topic: topic, messages: messages)
            done += batch.count
        }
        return done
    }
}

/// Writes late rows of window operators with `late_output` to JSON-lines files.
public final class LateOutputFiles: Sendable {
    let paths: [String: String]
    init(spec: PipelineSpec) {
        var p: [String: String] = [:]
        for op in spec.operators {
            if case .window(let w) = op.kind, let path = w.lateOutput { p[op.id] = path }
        }
        paths = p
    }

    func writer(for id: String) -> (@Sendable (Batch) -> Void)? {
        guard let path = paths[id] else { return nil }
        let file = AppendFile(path: path)
        return { batch in
            let encoder = JSONRowEncoder(schema: batch.schema)
            var out: [UInt8] = []
            encoder.encodeAll(batch, into: &out)
            file.append(out)
        }
    }
}
