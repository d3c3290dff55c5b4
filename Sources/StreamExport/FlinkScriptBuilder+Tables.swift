import StreamCore

extension FlinkScriptBuilder {
    static let kafkaTimestamp = "kafka_timestamp"

    /// The rows the source produces: the declared schema, plus the message timestamp where a Kafka source
    /// takes event time from it.
    var sourceSchema: Schema {
        guard case .kafka = spec.source.kind, spec.source.eventTime != nil, spec.source.eventTime?.field == nil,
            spec.schema.index(of: Self.kafkaTimestamp) == nil
        else { return spec.schema }
        return Schema(spec.schema.fields + [Field(Self.kafkaTimestamp, .timestamp, nullable: true)])
    }

    /// The field windows run on: the event-time field, or the message timestamp.
    var eventTimeField: String? {
        guard let et = spec.source.eventTime else { return nil }
        return et.field ?? Self.kafkaTimestamp
    }

    func sourceTable() -> String {
        let schema = sourceSchema
        var columns: [String] = schema.fields.map { f in
            let type = FlinkSQL.type(f.type)
            if case .kafka = spec.source.kind, f.name == Self.kafkaTimestamp {
                return "\(FlinkSQL.name(f.name)) \(type) METADATA FROM 'timestamp'"
            }
            return "\(FlinkSQL.name(f.name)) \(type)\(f.nullable ? "" : " NOT NULL")"
        }
        var notes: [String] = []
        if let field = eventTimeField, let et = spec.source.eventTime {
            columns.append(
                "WATERMARK FOR \(FlinkSQL.name(field)) AS \(FlinkSQL.name(field)) - \(FlinkSQL.interval(ms: et.maxDisorderMs))"
            )
        }
        var with: [(String, String)] = []
        switch spec.source.kind {
        case .kafka(let k): with = kafkaSource(k, notes: &notes)
        case .file(let f): with = fileSource(f)
        case .generator:
            fail(
                locate("generator", in: "source"),
                "the `generator` source is streamctl's own and has no Flink connector",
                help: "export a pipeline that reads the same rows from `kafka:` or `file:`; "
                    + "Flink's `datagen` connector makes different rows")
        }
        with += formatOptions(notes: &notes)
        if let p = endpointParallelism("source", pinned: spec.source.parallelism) {
            if case .kafka = spec.source.kind {
                with.append(("scan.parallelism", String(p)))
            } else {
                notes.append("differs: source parallelism \(p): Flink's filesystem source takes no parallelism option.")
            }
        }
        return table("source", columns: columns, partitionedBy: [], with: with, notes: notes)
    }

    func kafkaSource(_ k: KafkaSourceSpec, notes: inout [String]) -> [(String, String)] {
        var with: [(String, String)] = [
            ("connector", "kafka"), ("topic", k.topics.joined(separator: ";")),
            ("properties.bootstrap.servers", bootstrap(k.brokers, section: "source")),
            ("properties.group.id", k.group),
        ]
        switch k.startFrom {
        case .earliest: with.append(("scan.startup.mode", "earliest-offset"))
        case .latest: with.append(("scan.startup.mode", "latest-offset"))
        case .timestamp(let ms):
            with += [("scan.startup.mode", "timestamp"), ("scan.startup.timestamp-millis", String(ms))]
        case .committed:
            with += [("scan.startup.mode", "group-offsets"), ("properties.auto.offset.reset", "earliest")]
        }
        if let drift = profile.watermarkMaxDriftMs {
            with += [
                ("scan.watermark.alignment.group", spec.name),
                ("scan.watermark.alignment.max-drift", FlinkSQL.duration(ms: drift)),
            ]
        }
        if k.assignment == .static || k.instance != nil {
            notes.append(
                "differs: streamctl's `assignment: static`/`instance` choose partitions without a group; "
                    + "Flink's Kafka source assigns partitions to its own subtasks itself.")
        }
        for (key, value) in k.properties.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("streamctl.") {
            with.append(("properties.\(key)", value))
        }
        return with
    }

    func fileSource(_ f: FileSourceSpec) -> [(String, String)] {
        let at = locate("paths", in: "source")
        if f.paths.count != 1 || f.paths[0].contains(where: { "*?[".contains($0) }) {
            fail(
                at,
                "Flink's filesystem connector reads one file or directory; `source.file.paths` lists "
                    + "\(f.paths.count == 1 ? "a pattern" : "\(f.paths.count) paths")",
                help: "put the files in one directory and name it")
        }
        if spec.source.format == .csv, f.header {
            fail(
                locate("header", in: "source"), "Flink's csv format cannot skip a header line",
                help: "export files without a header and set `header: false`")
        }
        return [("connector", "filesystem"), ("path", f.paths.first ?? "")]
    }

    /// The resolved bootstrap servers; `embedded` only with `--brokers`.
    func bootstrap(_ brokers: String, section: String) -> String {
        guard brokers == "embedded" else { return brokers }
        if let b = options.brokers { return b }
        fail(
            locate("brokers", in: section),
            "`brokers: embedded` is streamctl's in-process broker, which a Flink cluster cannot reach",
            help: "name the cluster's brokers: `streamctl export flink-sql FILE --brokers HOST:PORT`")
        return "embedded"
    }

    /// The source's `format` and its options.
    func formatOptions(notes: inout [String]) -> [(String, String)] {
        var with: [(String, String)] = []
        switch spec.source.format {
        case .json:
            with += [("format", "json"), ("json.timestamp-format.standard", "ISO-8601")]
            if spec.schema.fields.contains(where: { $0.type == .timestamp }) {
                notes.append(
                    "differs: Flink's json format reads timestamps as ISO-8601 text in UTC "
                        + "('2026-11-27T00:00:00Z'); epoch-millisecond numbers and other offsets, which streamctl "
                        + "also reads, fail the row.")
            }
            if !spec.schema.fields.contains(where: \.nullable) { with.append(("json.fail-on-missing-field", "true")) }
        case .csv: with.append(("format", "csv"))
        }
        switch spec.source.onBadRecord {
        case .fail: break
        case .skip, .deadLetter:
            with.append(("\(spec.source.format.rawValue).ignore-parse-errors", "true"))
            notes.append(
                "differs: on_bad_record: \(spec.source.onBadRecord == .skip ? "skip" : "dead_letter") becomes "
                    + "ignore-parse-errors: Flink drops a row that does not parse or sets its bad fields to null, "
                    + "and keeps no dead letters.")
        }
        return with
    }

    /// The sink table for rows of `schema`; `keyed` when the query emits updates (a running aggregate).
    func sinkTable(schema: Schema, keyed: [String]?) -> (ddl: String, partitions: [BucketPartition]) {
        var columns = schema.fields.map { "\(FlinkSQL.name($0.name)) \(FlinkSQL.type($0.type))" }
        var partitions: [BucketPartition] = []
        var notes: [String] = []
        var with: [(String, String)] = []
        let at = locate(sinkKindName, in: "sink")
        switch spec.sink.kind {
        case .stdout:
            with = [("connector", "print")]
            notes.append("differs: Flink's print connector writes rows as +I[...] text on the TaskManagers' stdout.")
        case .null: with = [("connector", "blackhole")]
        case .file(let f):
            if keyed != nil {
                fail(
                    at,
                    "the file sink takes appended rows; a running aggregate emits updates, which Flink's "
                        + "filesystem connector refuses", help: "use a window, or a Kafka sink (upsert-kafka)")
            }
            with = [("connector", "filesystem"), ("path", f.path)]
            with += [("format", f.format.rawValue)]
            if f.format == .json { with.append(("json.timestamp-format.standard", "ISO-8601")) }
            with.append(("sink.rolling-policy.file-size", "\(f.rollSizeBytes)b"))
            if let bucket = f.bucket {
                partitions = bucketPartitions(bucket, schema: schema, at: locate("bucket", in: "sink"))
                columns += partitions.map { "\(FlinkSQL.name($0.name)) STRING" }
                with.append(("partition.default-name", "__HIVE_DEFAULT_PARTITION__"))
                if f.keyByBucket { with.append(("sink.shuffle-by-partition.enable", "true")) }
            }
            notes.append(
                "differs: Flink names part files part-<uuid>-<n> and commits them on checkpoints "
                    + "(or at the end of a bounded run).")
        case .kafka(let k):
            if let keyed {
                columns.append("PRIMARY KEY (\(keyed.map(FlinkSQL.name).joined(separator: ", "))) NOT ENFORCED")
                with = [("connector", "upsert-kafka"), ("key.format", "json")]
                notes.append("differs: updates go to upsert-kafka, keyed by the aggregate's key as JSON.")
            } else {
                with = [("connector", "kafka")]
                if let key = k.keyField {
                    if schema.field(named: key)?.type == .string {
                        with += [("key.format", "raw"), ("key.fields", key)]
                    } else {
                        with += [("key.format", "json"), ("key.fields", key)]
                        notes.append(
                            "differs: the message key `\(key)` is written as JSON, not as streamctl's plain text.")
                    }
                    with.append(("value.fields-include", "ALL"))
                }
                with.append(("sink.delivery-guarantee", "at-least-once"))
            }
            with += [("topic", k.topic), ("properties.bootstrap.servers", bootstrap(k.brokers, section: "sink"))]
            with += [("value.format", "json"), ("value.json.timestamp-format.standard", "ISO-8601")]
            if keyed == nil && k.keyField == nil {
                with.removeAll { $0.0 == "value.format" || $0.0 == "value.json.timestamp-format.standard" }
                with += [("format", "json"), ("json.timestamp-format.standard", "ISO-8601")]
            }
            for (key, value) in k.properties.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("streamctl.") {
                with.append(("properties.\(key)", value))
            }
        }
        if let p = endpointParallelism("sink", pinned: spec.sink.parallelism) {
            with.append(("sink.parallelism", String(p)))
        }
        return (
            table("sink", columns: columns, partitionedBy: partitions.map(\.name), with: with, notes: notes), partitions
        )
    }

    var sinkKindName: String {
        switch spec.sink.kind {
        case .stdout: "stdout"
        case .file: "file"
        case .kafka: "kafka"
        case .null: "null"
        }
    }

    func table(
        _ name: String, columns: [String], partitionedBy: [String], with: [(String, String)], notes: [String]
    ) -> String {
        var out = notes.map { "-- \($0)\n" }.joined()
        out += "CREATE TABLE \(FlinkSQL.name(name)) (\n"
        out += columns.map { "  \($0)" }.joined(separator: ",\n") + "\n)"
        if !partitionedBy.isEmpty {
            out += " PARTITIONED BY (\(partitionedBy.map(FlinkSQL.name).joined(separator: ", ")))"
        }
        out += " WITH (\n"
        out += with.map { "  \(FlinkSQL.quote($0.0)) = \(FlinkSQL.quote($0.1))" }.joined(separator: ",\n")
        return out + "\n);\n"
    }
}
