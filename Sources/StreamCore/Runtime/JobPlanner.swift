/// Turns a validated pipeline into a job graph: one stage per operator (a `key_by` is the partitioning
/// of the edge into the next stage), with parallelism from the profile.
public enum JobPlanner {
    /// Connectors and state the command line resolved for this run.
    public struct Parts: Sendable {
        public var source: any SourceConnector
        public var sink: any SinkConnector
        /// How rows reach the sink (e.g. by bucket for the file sink); nil is forward.
        public var sinkPartitioning: Partitioning?
        public var state: any KeyedStateBackend
        public var clock: any StreamClock
        /// Receives late rows of window operators that have `late_output`, by operator id.
        public var lateOutput: (@Sendable (_ operatorId: String) -> (@Sendable (Batch) -> Void)?)?

        public init(
            source: any SourceConnector, sink: any SinkConnector, sinkPartitioning: Partitioning? = nil,
            state: any KeyedStateBackend, clock: any StreamClock = SystemClock(),
            lateOutput: (@Sendable (String) -> (@Sendable (Batch) -> Void)?)? = nil
        ) {
            self.source = source
            self.sink = sink
            self.sinkPartitioning = sinkPartitioning
            self.state = state
            self.clock = clock
            self.lateOutput = lateOutput
        }
    }

    public static func plan(
        _ spec: PipelineSpec, profile: Profile, parts: Parts,
        keyGroups: KeyGroups = KeyGroups()
    ) throws(StreamError) -> JobPlan {
        var schema = spec.schema
        var stages: [StagePlan] = [
            StagePlan(
                id: "source", kind: .source(parts.source),
                parallelism: profile.parallelism(of: "source", pinned: spec.source.parallelism),
                input: .forward, outputSchema: schema)
        ]
        var keyNames: [String]? = nil
        let edgeKeys = EdgeRouting.keys(of: spec.operators)
        var edgeIndex = 0
        let timeField = spec.source.eventTime?.field
        // The worker caches' share of the state budget is split evenly over stateful operators.
        let statefulOperators = spec.operators.filter {
            switch $0.kind {
            case .window, .runningAggregate, .dedupe: true
            default: false
            }
        }.count

        func keyColumns(_ names: [String], _ schema: Schema, _ opId: String) throws(StreamError) -> KeyColumns {
            var idx: [Int] = []
            for n in names {
                guard let i = schema.index(of: n) else {
                    throw StreamError(.config, "operator `\(opId)`: key field `\(n)` is not in its input")
                }
                idx.append(i)
            }
            return KeyColumns(indices: idx, schema: schema)
        }

        for op in spec.operators {
            let parallelism = profile.parallelism(of: op.id, pinned: op.parallelism)
            let input = schema
            let stageKind: StageKind
            let output: Schema
            if case .keyBy(let names) = op.kind {
                _ = try keyColumns(names, schema, op.id)
                keyNames = names
                continue
            }
            let edge = edgeKeys[edgeIndex]
            edgeIndex += 1
            var inputPartitioning = Partitioning.forward
            if let names = edge.key { inputPartitioning = .keyed(try keyColumns(names, input, op.id)) }
            switch op.kind {
            case .keyBy:
                continue
            case .filter(let text):
                let compiled: CompiledExpression
                do { compiled = try Expressions.compile(text.text, schema: input) } catch {
                    throw StreamError(.config, "operator `\(op.id)`: \(error.message)")
                }
                stageKind = .transform { _, _ in FilterOperator(predicate: compiled, schema: input) }
                output = input
            case .map(let fields, let keep):
                var outFields: [Field] = keep ? input.fields : []
                var sources: [MapOperator.Source] = keep ? input.fields.indices.map { .column($0) } : []
                for f in fields {
                    let source: MapOperator.Source
                    let type: FieldType
                    if let i = input.index(of: f.expression.text) {
                        source = .column(i)
                        type = input[i].type
                    } else {
                        let compiled: CompiledExpression
                        do { compiled = try Expressions.compile(f.expression.text, schema: input) } catch {
                            throw StreamError(.config, "operator `\(op.id)`, field `\(f.name)`: \(error.message)")
                        }
                        source = .expression(compiled)
                        type = compiled.resultType
                    }
                    if let existing = outFields.firstIndex(where: { $0.name == f.name }) {
                        outFields[existing] = Field(f.name, type, nullable: true)
                        sources[existing] = source
                    } else {
                        outFields.append(Field(f.name, type, nullable: true))
                        sources.append(source)
                    }
                }
                let outSchema = Schema(outFields)
                let columnSources = sources
                stageKind = .transform { _, _ in MapOperator(outputSchema: outSchema, sources: columnSources) }
                output = outSchema
            case .window(let w):
                guard let names = keyNames else {
                    throw StreamError(.config, "operator `\(op.id)`: a window needs a key_by before it")
                }
                guard let tf = timeField, let timeIndex = input.index(of: tf) else {
                    throw StreamError(
                        .config, "operator `\(op.id)`: a window needs source.event_time.field in its input")
                }
                let key = try keyColumns(names, input, op.id)
                var aggs: [BoundAggregate] = []
                for a in w.aggregates { aggs.append(try BoundAggregate(a, schema: input)) }
                let table = try parts.state.table(named: op.id)
                let late = w.lateOutput != nil ? parts.lateOutput?(op.id) : nil
                let groups = keyGroups
                let boundAggs = aggs
                if case .session(let gap) = w.kind {
                    stageKind = .transform { worker, p throws(StreamError) in
                        try SessionWindowOperator(
                            key: key, timeIndex: timeIndex, gapMs: gap, aggregates: boundAggs, table: table,
                            keyGroups: groups, ownedKeyGroups: groups.range(worker: worker, parallelism: p),
                            allowedLatenessMs: w.allowedLatenessMs, lateOutput: late)
                    }
                } else {
                    let cacheBytes = Int(spec.state.effectiveWorkerCacheBytes) / max(1, statefulOperators * parallelism)
                    stageKind = .transform { worker, p throws(StreamError) in
                        try WindowOperator(
                            key: key, timeIndex: timeIndex, kind: w.kind, aggregates: boundAggs, table: table,
                            keyGroups: groups, ownedKeyGroups: groups.range(worker: worker, parallelism: p),
                            allowedLatenessMs: w.allowedLatenessMs, cacheBytes: cacheBytes, lateOutput: late)
                    }
                }
                output = WindowOperator.outputSchema(key: key, aggregates: aggs)
            case .runningAggregate(let specs, let ttl):
                guard let names = keyNames else {
                    throw StreamError(.config, "operator `\(op.id)`: an aggregate needs a key_by before it")
                }
                let key = try keyColumns(names, input, op.id)
                var aggs: [BoundAggregate] = []
                for a in specs { aggs.append(try BoundAggregate(a, schema: input)) }
                let table = try parts.state.table(named: op.id)
                let groups = keyGroups
                let clock = parts.clock
                let timeIndex = timeField.flatMap { input.index(of: $0) }
                let boundAggs = aggs
                stageKind = .transform { worker, p in
                    RunningAggregateOperator(
                        key: key, aggregates: boundAggs, table: table, keyGroups: groups,
                        ownedKeyGroups: groups.range(worker: worker, parallelism: p), ttlMs: ttl, timeIndex: timeIndex,
                        clock: clock)
                }
                output = Schema(key.fields + aggs.map(\.outputField))
            case .dedupe(let names, let ttl):
                let key = try keyColumns(names, input, op.id)
                let table = try parts.state.table(named: op.id)
                let groups = keyGroups
                let clock = parts.clock
                let timeIndex = timeField.flatMap { input.index(of: $0) }
                stageKind = .transform { worker, p in
                    DedupeOperator(
                        key: key, schema: input, table: table, keyGroups: groups,
                        ownedKeyGroups: groups.range(worker: worker, parallelism: p), ttlMs: ttl, timeIndex: timeIndex,
                        clock: clock)
                }
                output = input
            }
            stages.append(
                StagePlan(
                    id: op.id, kind: stageKind, parallelism: parallelism, input: inputPartitioning, outputSchema: output,
                    stateful: op.kind.isStateful))
            if case .map = op.kind, let names = keyNames, !names.allSatisfy({ output.index(of: $0) != nil }) {
                keyNames = nil
            }
            if case .window = op.kind { keyNames = nil }
            if case .runningAggregate = op.kind { keyNames = nil }
            schema = output
        }
        var sinkPartitioning = parts.sinkPartitioning ?? .forward
        if parts.sinkPartitioning == nil, let names = edgeKeys.last?.key {
            sinkPartitioning = .keyed(try keyColumns(names, schema, "sink"))
        }
        stages.append(
            StagePlan(
                id: "sink", kind: .sink(parts.sink),
                parallelism: profile.parallelism(of: "sink", pinned: spec.sink.parallelism),
                input: sinkPartitioning, outputSchema: schema))
        return JobPlan(name: spec.name, stages: stages, profile: profile, source: spec.source, keyGroups: keyGroups)
    }
}
