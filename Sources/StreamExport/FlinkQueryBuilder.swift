import StreamCore

/// The operators as Flink SQL views, one per operator, each reading the one before it.
struct FlinkQueryBuilder {
    let export: FlinkScriptBuilder

    struct Query {
        var views: [String] = []
        /// The relation the sink reads.
        var last = "source"
        var schema: Schema
        /// The key of a running aggregate's updates, when the query emits updates rather than appends.
        var updating: [String]?
    }

    func build() -> Query {
        var q = Query(schema: export.sourceSchema)
        var key: [String]?
        // The event-time attribute while it still reaches this point unchanged (windows need it).
        var timeField = export.eventTimeField
        for op in export.spec.operators {
            let from = FlinkSQL.name(q.last)
            var select: String?
            switch op.kind {
            case .filter(let e):
                guard let cond = export.expression(e, schema: q.schema, in: op.id) else { break }
                select = "SELECT * FROM \(from) WHERE \(cond)"
            case .map(let fields, let keep):
                guard let (sql, schema) = map(fields, keep: keep, q.schema, op) else { break }
                select = "SELECT \(sql) FROM \(from)"
                if let t = timeField,
                    schema.index(of: t) == nil || fields.contains(where: { $0.name == t && $0.expression.text != t })
                {
                    timeField = nil
                }
                if let k = key, !k.allSatisfy({ schema.index(of: $0) != nil }) { key = nil }
                q.schema = schema
            case .keyBy(let fields): key = fields
            case .window(let w):
                guard let time = timeField else {
                    export.fail(
                        op.location, "window `\(op.id)` has no event-time attribute in Flink",
                        help: export.spec.source.eventTime == nil
                            ? "add `source.event_time`" : "keep the event-time field unchanged before the window")
                    break
                }
                guard let (sql, schema) = window(w, key: key ?? [], time: time, from: from, q.schema, op) else { break }
                select = sql
                q.schema = schema
                timeField = nil
                key = nil
            case .runningAggregate(let aggs, let ttl):
                let k = key ?? []
                guard let list = aggregates(aggs, q.schema, op) else { break }
                let keys = k.map(FlinkSQL.name)
                select =
                    "SELECT \((keys + list).joined(separator: ", ")) FROM \(from)"
                    + (k.isEmpty ? "" : " GROUP BY \(keys.joined(separator: ", "))")
                q.schema = Schema(
                    k.compactMap { q.schema.field(named: $0) }
                        + aggs.map { a in
                            Field(a.name, outputType(a, q.schema) ?? .int64)
                        })
                q.updating = k
                if let ttl {
                    export.set(
                        "table.exec.state.ttl", FlinkSQL.duration(ms: ttl),
                        note: "differs: `\(op.id)` ttl: Flink's state TTL (processing time, as streamctl's) "
                            + "applies to every stateful operator of the job, not only this one.")
                }
                timeField = nil
                key = nil
            case .dedupe:
                export.fail(
                    op.location,
                    "dedupe `\(op.id)` forgets a key after its ttl of event time; Flink's deduplication "
                        + "(ROW_NUMBER() = 1) keeps keys for the whole job or a processing-time state TTL",
                    help: "export the pipeline without the dedupe, or deduplicate in Flink by hand")
            }
            if let select {
                // Comments about the view go above it, not inside the statement.
                let lines = select.split(separator: "\n")
                let notes = lines.filter { $0.hasPrefix("--") }.map { $0 + "\n" }.joined()
                let body = lines.filter { !$0.hasPrefix("--") }.joined(separator: "\n")
                q.views.append(notes + "CREATE TEMPORARY VIEW \(FlinkSQL.name(op.id)) AS\n\(body);\n")
                q.last = op.id
            }
        }
        return q
    }

    func map(_ fields: [(name: String, expression: ExpressionText)], keep: Bool, _ input: Schema, _ op: OperatorSpec)
        -> (String, Schema)?
    {
        var out: [(field: Field, sql: String)] =
            keep ? input.fields.map { ($0, FlinkSQL.name($0.name)) } : []
        var ok = true
        for f in fields {
            let field: Field
            let sql: String
            if let existing = input.field(named: f.expression.text) {
                field = Field(f.name, existing.type, nullable: true)
                sql = FlinkSQL.name(existing.name)
            } else {
                guard let s = export.expression(f.expression, schema: input, in: op.id),
                    let tree = try? ExpressionTree.parse(f.expression.text, schema: input)
                else {
                    ok = false
                    continue
                }
                field = Field(f.name, tree.type ?? .string, nullable: true)
                sql = s
            }
            let item = (field, sql == FlinkSQL.name(f.name) ? sql : "\(sql) AS \(FlinkSQL.name(f.name))")
            if let i = out.firstIndex(where: { $0.field.name == f.name }) { out[i] = item } else { out.append(item) }
        }
        guard ok else { return nil }
        return (out.map(\.sql).joined(separator: ", "), Schema(out.map(\.field)))
    }

    func window(_ w: WindowSpec, key: [String], time: String, from: String, _ input: Schema, _ op: OperatorSpec)
        -> (String, Schema)?
    {
        let keys = key.map(FlinkSQL.name)
        let descriptor = "DESCRIPTOR(\(FlinkSQL.name(time)))"
        let tvf: String
        switch w.kind {
        case .tumbling(let size): tvf = "TUMBLE(TABLE \(from), \(descriptor), \(FlinkSQL.interval(ms: size)))"
        case .sliding(let size, let slide):
            tvf = "HOP(TABLE \(from), \(descriptor), \(FlinkSQL.interval(ms: slide)), \(FlinkSQL.interval(ms: size)))"
        case .session(let gap):
            let partition = keys.isEmpty ? "" : " PARTITION BY \(keys.joined(separator: ", "))"
            tvf = "SESSION(TABLE \(from)\(partition), \(descriptor), \(FlinkSQL.interval(ms: gap)))"
        }
        guard let aggs = aggregates(w.aggregates, input, op) else { return nil }
        var notes = ""
        if w.allowedLatenessMs > 0 {
            notes +=
                "-- differs: `\(op.id)` allowed_lateness: Flink's window functions drop rows behind the "
                + "watermark instead of updating a fired window.\n"
        }
        if let late = w.lateOutput {
            notes += "-- differs: `\(op.id)` late_output (\(late)): Flink SQL keeps no side output of late rows.\n"
        }
        let bounds = ["window_start", "window_end"].map { "CAST(\($0) AS TIMESTAMP_LTZ(3)) AS \($0)" }
        let sql =
            notes + "SELECT \((keys + bounds + aggs).joined(separator: ", "))\n"
            + "FROM TABLE(\(tvf))\n"
            + "GROUP BY \((keys + ["window_start", "window_end"]).joined(separator: ", "))"
        let schema = Schema(
            key.compactMap { input.field(named: $0) } + [
                Field("window_start", .timestamp), Field("window_end", .timestamp),
            ]
                + w.aggregates.map { Field($0.name, outputType($0, input) ?? .int64, nullable: $0.function != .count) })
        return (sql, schema)
    }

    /// streamctl's result type of an aggregate (sum keeps the input type, avg is a double).
    func outputType(_ a: AggregateSpec, _ input: Schema) -> FieldType? {
        switch a.function {
        case .count: return .int64
        case .avg: return .double
        default: return a.field.flatMap { input.field(named: $0)?.type }
        }
    }

    func aggregates(_ aggs: [AggregateSpec], _ input: Schema, _ op: OperatorSpec) -> [String]? {
        var out: [String] = []
        var ok = true
        for a in aggs {
            let x = a.field.map(FlinkSQL.name) ?? "*"
            let name = FlinkSQL.name(a.name)
            switch a.function {
            case .count: out.append("COUNT(*) AS \(name)")
            case .min, .max: out.append("\(a.function.rawValue.uppercased())(\(x)) AS \(name)")
            case .avg: out.append("AVG(CAST(\(x) AS DOUBLE)) AS \(name)")
            case .sum:
                // Flink sums decimals in 38 digits; streamctl keeps the field's type.
                let type = outputType(a, input).map(FlinkSQL.type) ?? "BIGINT"
                out.append("CAST(SUM(\(x)) AS \(type)) AS \(name)")
            case .first, .last:
                ok = false
                export.fail(
                    a.location,
                    "operator `\(op.id)`: \(a.function.rawValue)() picks by event time in streamctl; Flink's "
                        + "\(a.function == .first ? "FIRST_VALUE" : "LAST_VALUE") picks by arrival order",
                    help: "use min() or max() where they give the same answer")
            }
        }
        return ok ? out : nil
    }
}
