import StreamCore
import Yams

extension SpecReader {
    static let sourceKinds = ["kafka", "file", "generator"]
    static let sourceKeys =
        sourceKinds + ["format", "event_time", "on_bad_record", "dead_letter_path", "parallelism", "decimal_rounding"]

    func readSource(_ node: Node, flow: SchemaFlow, pipelineName: String) -> SourceSpec? {
        guard let e = checker.mapping(node, "source", allowed: Self.sourceKeys) else { return nil }
        let kinds = Self.sourceKinds.filter { e[$0] != nil }
        if kinds.isEmpty {
            checker.report(
                node, "`source` names no source",
                help: "add one of `kafka:`, `file:` or `generator:`")
        }
        if kinds.count > 1, let second = e.keys[kinds[1]] {
            checker.report(
                second, "`source` has both `\(kinds[0])` and `\(kinds[1])`",
                help: "a pipeline reads one source; keep one of them")
        }
        var kind: SourceKind?
        switch kinds.first {
        case "kafka":
            kind = e["kafka"].flatMap { readKafkaSource($0, group: pipelineName, flow: flow) }.map(SourceKind.kafka)
        case "file": kind = e["file"].flatMap(readFileSource).map(SourceKind.file)
        case "generator": kind = e["generator"].flatMap(readGenerator).map(SourceKind.generator)
        default: break
        }
        var format = RecordFormat.json
        if let n = e["format"], let f = checker.choice(n, "source.format", ["json": RecordFormat.json, "csv": .csv]) {
            format = f
        }
        var eventTime: EventTimeSpec?
        if let n = e["event_time"] {
            eventTime = readEventTime(n, flow: flow, needsField: kinds.first != "kafka")
            if kinds.first == "kafka", eventTime != nil, eventTime?.field == nil { flow.addKafkaTimestamp() }
        }
        var policy = BadRecordPolicy.fail
        var wantsDeadLetter = false
        if let n = e["on_bad_record"],
            let p = checker.choice(n, "source.on_bad_record", ["fail": 0, "skip": 1, "dead_letter": 2])
        {
            policy = p == 1 ? .skip : .fail
            wantsDeadLetter = p == 2
        }
        let deadLetterPath = e["dead_letter_path"].flatMap { checker.name($0, "source.dead_letter_path") }
        if wantsDeadLetter {
            if let deadLetterPath {
                policy = .deadLetter(path: deadLetterPath)
            } else if e["dead_letter_path"] == nil {
                checker.report(
                    e["on_bad_record"]!, "`on_bad_record: dead_letter` needs `source.dead_letter_path`",
                    help: "add `dead_letter_path: bad-records.jsonl` beside it")
            }
        } else if let n = e.keys["dead_letter_path"] {
            checker.report(
                n, "`dead_letter_path` is only used with `on_bad_record: dead_letter`",
                help: "set `on_bad_record: dead_letter` or remove `dead_letter_path`")
        }
        let parallelism = e["parallelism"].flatMap {
            checker.int($0, "source.parallelism", min: 1, max: Bounds.parallelism)
        }
        if let n = e["decimal_rounding"],
            let strict = checker.choice(n, "source.decimal_rounding", ["half_even": false, "strict": true])
        {
            strictDecimals = strict
        }
        guard let kind else { return nil }
        return SourceSpec(
            kind: kind, format: format, eventTime: eventTime, onBadRecord: policy,
            parallelism: parallelism)
    }

    static let kafkaKeys = [
        "brokers", "topics", "group", "start_from", "properties", "assignment", "instance", "partitioned_by",
        "allow_split_keys",
    ]

    func readKafkaSource(_ node: Node, group defaultGroup: String, flow: SchemaFlow) -> KafkaSourceSpec? {
        let path = "source.kafka"
        guard
            let e = checker.mapping(node, path, allowed: Self.kafkaKeys, required: ["brokers", "topics"])
        else { return nil }
        let brokers = e["brokers"].flatMap { checker.name($0, e.sub("brokers")) }
        let topics = e["topics"].flatMap { checker.stringList($0, e.sub("topics")) }
        let group = e["group"].map { checker.name($0, e.sub("group")) } ?? defaultGroup
        var start = StartPosition.earliest
        if let n = e["start_from"] {
            switch n.scalar?.string {
            case "earliest": start = .earliest
            case "latest": start = .latest
            case "committed": start = .committed
            default:
                if let s = n.scalar?.string, let ms = Timestamps.parseMs(s) {
                    start = .timestamp(ms)
                } else {
                    checker.report(
                        n, "invalid value \(checker.describe(n)) for `\(e.sub("start_from"))`",
                        help: "use `earliest`, `latest`, `committed`, an RFC 3339 timestamp "
                            + "or epoch milliseconds")
                }
            }
        }
        var assignment = PartitionAssignment.group
        if let n = e["assignment"] {
            if let s = n.scalar?.string, let a = PartitionAssignment(rawValue: s) {
                assignment = a
            } else {
                checker.report(
                    n, "invalid value \(checker.describe(n)) for `\(e.sub("assignment"))`",
                    help: "use `group` (consumer-group member) or `static` (this process reads every partition)")
            }
        }
        let properties = e["properties"].map { checker.properties($0, e.sub("properties")) } ?? [:]
        let scaling = readScaling(e, path: path, assignment: &assignment, flow: flow)
        guard let brokers, let topics, let group, let properties, let scaling else { return nil }
        return KafkaSourceSpec(
            brokers: brokers, topics: topics.map(\.0), group: group, startFrom: start,
            properties: properties, assignment: assignment, instance: scaling.instance,
            partitionedBy: scaling.partitionedBy, allowSplitKeys: scaling.allowSplitKeys)
    }

    /// `instance: I/N`, `partitioned_by` and `allow_split_keys`: how several processes share the topic.
    /// An instance reads its partitions without a group join, so it implies `assignment: static`.
    func readScaling(_ e: Entries, path: String, assignment: inout PartitionAssignment, flow: SchemaFlow)
        -> (instance: SourceInstance?, partitionedBy: [String]?, allowSplitKeys: Bool)?
    {
        let before = checker.errors.count
        var instance: SourceInstance?
        if let n = e["instance"] {
            if let text = n.scalar?.string, let i = SourceInstance(text) {
                instance = i
                if e["assignment"] != nil, assignment == .group {
                    checker.report(
                        e.keys["assignment"]!,
                        "`instance` reads a share of the partitions without a group join; "
                            + "it cannot be combined with `assignment: group`",
                        help: "remove `assignment: group`, or remove `instance` and let the group share the topic")
                }
                assignment = .static
            } else {
                checker.report(
                    n, "invalid value \(checker.describe(n)) for `\(e.sub("instance"))`",
                    help: "write `I/N` with 0 <= I < N, e.g. `instance: 0/3` for the first of three processes")
            }
        }
        var partitionedBy: [String]?
        if let n = e["partitioned_by"], let fields = checker.stringList(n, e.sub("partitioned_by")) {
            for (field, fieldNode) in fields where !flow.has(field) {
                unknownField(field, at: checker.location(fieldNode), in: "`\(e.sub("partitioned_by"))`", flow: flow)
            }
            partitionedBy = fields.map(\.0)
        }
        let allow = e["allow_split_keys"].map { checker.bool($0, e.sub("allow_split_keys")) } ?? false
        guard checker.errors.count == before, let allow else { return nil }
        return (instance, partitionedBy, allow)
    }

    func readFileSource(_ node: Node) -> FileSourceSpec? {
        guard let e = checker.mapping(node, "source.file", allowed: ["paths", "header"], required: ["paths"]) else {
            return nil
        }
        let paths = e["paths"].flatMap { checker.stringList($0, e.sub("paths")) }
        let header = e["header"].map { checker.bool($0, e.sub("header")) } ?? true
        guard let paths, let header else { return nil }
        var found = true
        for (pattern, n) in paths where FileSource.glob(pattern).isEmpty {
            checker.report(
                n, "`\(pattern)` in `source.file.paths` matches no file",
                help: "paths and patterns are taken relative to the current directory")
            found = false
        }
        guard found else { return nil }
        return FileSourceSpec(paths: paths.map(\.0), header: header)
    }

    func readGenerator(_ node: Node) -> GeneratorSpec? {
        var g = GeneratorSpec()
        if checker.isNull(node) { return g }
        let keys = ["seed", "rows", "rate", "keys", "skew", "disorder", "start_time", "step", "splits"]
        guard let e = checker.mapping(node, "source.generator", allowed: keys) else { return nil }
        let before = checker.errors.count
        if let n = e["seed"], let v = checker.int(n, e.sub("seed"), min: 0) { g.seed = UInt64(v) }
        if let n = e["rows"] {
            if n.scalar?.string == "unbounded" {
                g.rows = nil
            } else if let v = checker.int(n, e.sub("rows"), min: 0) {
                g.rows = v
            }
        }
        if let n = e["rate"], let v = checker.int(n, e.sub("rate"), min: 0) { g.rate = v == 0 ? nil : v }
        if let n = e["keys"], let v = checker.int(n, e.sub("keys"), min: 1, max: Bounds.generatorKeys) { g.keys = v }
        if let n = e["skew"], let v = checker.double(n, e.sub("skew"), min: 0) { g.skew = v }
        if let n = e["disorder"], let v = checker.duration(n, e.sub("disorder")) { g.disorderMs = v }
        if let n = e["start_time"], let v = checker.timestamp(n, e.sub("start_time")) { g.startTime = v }
        if let n = e["step"], let v = checker.duration(n, e.sub("step")) { g.stepMs = v }
        if let n = e["splits"], let v = checker.int(n, e.sub("splits"), min: 1, max: Bounds.generatorSplits) {
            g.splits = v
        }
        if checker.errors.count == before, let rows = g.rows {
            // The last row's event time must be a real date: start + rows × step, without overflow.
            let (span, o1) = Int64(rows).multipliedReportingOverflow(by: g.stepMs)
            let (last, o2) = g.startTime.addingReportingOverflow(span)
            if o1 || o2 || last > Bounds.latestEventTimeMs {
                checker.report(
                    e["rows"] ?? e["step"] ?? node,
                    "`rows` × `step` after `start_time` runs past the year 9999",
                    help: "lower `rows` or `step`")
            }
        }
        return checker.errors.count == before ? g : nil
    }

    func readEventTime(_ node: Node, flow: SchemaFlow, needsField: Bool) -> EventTimeSpec? {
        let path = "source.event_time"
        guard
            let e = checker.mapping(
                node, path, allowed: ["field", "max_disorder", "idle_timeout", "max_ahead", "max_late_share"],
                required: needsField ? ["field"] : [])
        else { return nil }
        var spec = EventTimeSpec(field: nil)
        if let n = e["field"], let field = checker.name(n, e.sub("field")) {
            if !flow.has(field) {
                unknownField(field, at: checker.location(n), in: "`\(e.sub("field"))`", flow: flow)
            } else if let type = flow.type(of: field), type != .timestamp {
                checker.report(
                    n, "event-time field `\(field)` is \(type), not a timestamp",
                    help: "declare `\(field): timestamp` in `schema` "
                        + "(epoch milliseconds or RFC 3339 in the input)")
            }
            spec.field = field
        }
        if let n = e["max_disorder"], let v = checker.duration(n, e.sub("max_disorder")) { spec.maxDisorderMs = v }
        if let n = e["idle_timeout"], let v = checker.duration(n, e.sub("idle_timeout"), positive: true) {
            spec.idleTimeoutMs = v
        }
        if let n = e["max_ahead"] {
            if n.scalar?.string == "off" {
                spec.maxAheadMs = nil
            } else if let v = checker.duration(n, e.sub("max_ahead"), positive: true) {
                spec.maxAheadMs = v
            }
        }
        if let n = e["max_late_share"] {
            if n.scalar?.string == "off" {
                spec.maxLateShare = nil
            } else if let v = readShare(n, e.sub("max_late_share")) {
                spec.maxLateShare = v
            }
        }
        return spec
    }

    /// A share written as a percentage (`10%`) or a fraction (`0.1`), between 0 and 1.
    func readShare(_ node: Node, _ path: String) -> Double? {
        var text = node.scalar?.string ?? ""
        let percent = text.hasSuffix("%")
        if percent { text.removeLast() }
        guard let v = Double(text), v.isFinite, v >= 0, v <= (percent ? 100 : 1) else {
            checker.report(
                node, "invalid share \(checker.describe(node)) for `\(path)`",
                help: "write a percentage (`10%`), a fraction between 0 and 1 (`0.1`), or `off`")
            return nil
        }
        return percent ? v / 100 : v
    }
}
