import Foundation
import StreamCore
import Yams

extension SpecReader {
    static let operatorHelp = "operators: " + OperatorKind.allNames.map { "`\($0)`" }.joined(separator: ", ")

    /// Reads the operator list, tracking the schema and key through it. A window without an event-time
    /// field on a Kafka source turns on event time from the message timestamp.
    func readOperators(_ node: Node, flow: SchemaFlow, source: inout SourceSpec?) -> [OperatorSpec] {
        guard case .sequence(let items) = node else {
            checker.report(
                node, "expected a list of operators for `operators`, found \(checker.describe(node))",
                help: "write each operator as a list item, e.g. `- filter: \"amount > 0\"`")
            return []
        }
        var result: [OperatorSpec] = []
        var counters: [String: Int] = [:]
        var seenIds: Set<String> = ["source", "sink"]
        for item in items {
            guard let map = item.mapping else {
                checker.report(
                    item, "expected an operator, found \(checker.describe(item))",
                    help: "write an operator as a one-key mapping, e.g. `- key_by: shop`")
                continue
            }
            var opName: String?
            var opNode: Node?
            var opKeyNode: Node?
            var idNode: Node?
            var parallelismNode: Node?
            for (keyNode, value) in map {
                let key = keyNode.scalar?.string ?? ""
                switch key {
                case "id": idNode = value
                case "parallelism": parallelismNode = value
                case _ where OperatorKind.allNames.contains(key):
                    if let first = opName {
                        checker.report(
                            keyNode, "one operator per list item: found `\(first)` and `\(key)`",
                            help: "start a new item with `- \(key):`")
                    } else {
                        (opName, opNode, opKeyNode) = (key, value, keyNode)
                    }
                default:
                    let help =
                        Suggest.didYouMean(key, in: OperatorKind.allNames + ["id", "parallelism"])
                        ?? Self.operatorHelp
                    checker.report(keyNode, "unknown operator `\(key)`", help: help)
                }
            }
            guard let opName, let opNode, let opKeyNode else {
                if map.contains(where: { OperatorKind.allNames.contains($0.key.scalar?.string ?? "") }) { continue }
                if !map.contains(where: { key, _ in !["id", "parallelism"].contains(key.scalar?.string ?? "") }) {
                    checker.report(item, "this operator item names no operator", help: Self.operatorHelp)
                }
                continue
            }
            counters[opName, default: 0] += 1
            var id = "\(opName)-\(counters[opName]!)"
            if let idNode, let given = checker.name(idNode, "\(opName).id") {
                if checkOperatorId(given, idNode) { id = given }
            }
            if !seenIds.insert(id).inserted {
                checker.report(
                    idNode ?? opKeyNode, "duplicate operator id `\(id)`",
                    help: "operator ids name their state; give this one another `id:`")
            }
            let parallelism = parallelismNode.flatMap {
                checker.int($0, "\(id).parallelism", min: 1, max: Bounds.parallelism)
            }
            let kind = readOperator(opName, opNode, keyNode: opKeyNode, id: id, flow: flow, source: &source)
            if let kind {
                result.append(
                    OperatorSpec(
                        id: id, kind: kind, parallelism: parallelism,
                        at: checker.location(opKeyNode)))
            }
        }
        return result
    }

    func checkOperatorId(_ id: String, _ node: Node) -> Bool {
        let ok = id.unicodeScalars.allSatisfy {
            ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        if !ok {
            checker.report(
                node, "operator id `\(id)` may hold only letters, digits, `_` and `-`",
                help: "the id names the operator's state and metrics")
        }
        return ok
    }

    func readOperator(
        _ name: String, _ node: Node, keyNode: Node, id: String, flow: SchemaFlow, source: inout SourceSpec?
    ) -> OperatorKind? {
        switch name {
        case "filter":
            guard let text = checker.string(node, "filter") else { return nil }
            let expression = ExpressionText(text, at: checker.location(node))
            guard let type = typeCheck(text, node, flow: flow) else { return .filter(expression) }
            if type != .bool {
                checker.report(
                    node, "a filter must be a bool expression, but `\(text)` is \(type)",
                    help: "compare it, e.g. `\(text) > 0`")
            }
            return .filter(expression)
        case "map", "select":
            return readMap(node, name: name, flow: flow)
        case "key_by":
            guard let fields = checker.stringList(node, "key_by") else { return nil }
            for (field, n) in fields where !flow.has(field) {
                unknownField(field, at: checker.location(n), in: "`key_by`", flow: flow)
            }
            flow.key = fields.map(\.0)
            flow.keyOperator = id
            return .keyBy(fields.map(\.0))
        case "window":
            return readWindow(node, keyNode: keyNode, flow: flow, source: &source)
        case "aggregate":
            guard let e = checker.mapping(node, "aggregate", allowed: ["aggregate", "ttl"], required: ["aggregate"]),
                let aggNode = e["aggregate"]
            else { return nil }
            requireKey(for: "aggregate", keyNode, flow: flow)
            let ttl = e["ttl"].flatMap { checker.duration($0, "aggregate.ttl", positive: true) }
            guard let aggregates = readAggregates(aggNode, path: "aggregate.aggregate", flow: flow) else { return nil }
            flow.schema = Schema(keyFields(flow) + aggregates.fields)
            return .runningAggregate(aggregates: aggregates.specs, ttlMs: ttl)
        case "dedupe":
            guard let e = checker.mapping(node, "dedupe", allowed: ["key", "ttl"], required: ["ttl"]) else {
                return nil
            }
            var key = flow.key
            if let n = e["key"], let fields = checker.stringList(n, "dedupe.key") {
                for (field, fn) in fields where !flow.has(field) {
                    unknownField(field, at: checker.location(fn), in: "`dedupe.key`", flow: flow)
                }
                key = fields.map(\.0)
            } else if e["key"] == nil, key == nil {
                checker.report(
                    keyNode, "`dedupe` needs a key",
                    help: "add `key: [order_id]` to it, or put a `key_by` before it")
            }
            let ttl = e["ttl"].flatMap { checker.duration($0, "dedupe.ttl", positive: true) }
            guard let key, let ttl else { return nil }
            return .dedupe(key: key, ttlMs: ttl)
        default:
            return nil
        }
    }

    /// `map` keeps the input fields and adds or replaces; `select` outputs only its fields.
    /// `select` also takes a list of field names.
    func readMap(_ node: Node, name: String, flow: SchemaFlow) -> OperatorKind? {
        let keep = name == "map"
        var items: [(name: String, keyNode: Node, value: Node)] = []
        if !keep, case .sequence = node {
            guard let names = checker.stringList(node, name) else { return nil }
            items = names.map { ($0.0, $0.1, $0.1) }
        } else {
            guard let pairs = checker.pairs(node, name) else { return nil }
            if pairs.isEmpty {
                checker.report(node, "`\(name)` lists no fields", help: "write `name: expression` pairs")
                return nil
            }
            items = pairs.map { ($0.key, $0.keyNode, $0.value) }
        }
        let input = flow.schema
        var output: [Field] = keep ? input.fields : []
        var fields: [(name: String, expression: ExpressionText)] = []
        for (field, keyNode, value) in items {
            checkIdentifier(field, keyNode, what: "field name")
            guard let text = checker.string(value, "\(name).\(field)") else { continue }
            fields.append((field, ExpressionText(text, at: checker.location(value))))
            let type = typeCheck(text, value, flow: flow)
            if type == nil { flow.doubtful.insert(field) }
            // A bare field name keeps its nullability; anything computed may be null.
            let nullable = input.field(named: text.trimmingCharacters(in: .whitespaces))?.nullable ?? true
            let newField = Field(field, type ?? .string, nullable: nullable)
            if let i = output.firstIndex(where: { $0.name == field }) {
                output[i] = newField
            } else {
                output.append(newField)
            }
        }
        flow.schema = Schema(output)
        return .map(fields: fields, keep: keep)
    }

    /// The expression's type, or nil after reporting its error at its place in the file.
    func typeCheck(_ text: String, _ node: Node, flow: SchemaFlow) -> FieldType? {
        do {
            return try Expressions.typeCheck(text, schema: flow.schema)
        } catch {
            let at = checker.location(in: node, offset: error.offset)
            checker.report(line: at.line, column: at.column, error.message, help: error.help)
            return nil
        }
    }

    func requireKey(for op: String, _ keyNode: Node, flow: SchemaFlow) {
        guard let key = flow.key else {
            checker.report(
                keyNode, "`\(op)` needs keyed input", help: "put a `key_by` before it, e.g. `- key_by: shop`")
            return
        }
        for field in key where !flow.has(field) {
            checker.report(
                keyNode, "key field `\(field)` is not in the input of `\(op)`",
                help: "keep `\(field)` in the `map`/`select` between `key_by` and `\(op)`")
        }
    }

    func keyFields(_ flow: SchemaFlow) -> [Field] {
        (flow.key ?? []).compactMap { flow.schema.field(named: $0) }
    }

    func readWindow(_ node: Node, keyNode: Node, flow: SchemaFlow, source: inout SourceSpec?) -> OperatorKind? {
        let keys = ["tumbling", "sliding", "session", "aggregate", "allowed_lateness", "late_output"]
        guard let e = checker.mapping(node, "window", allowed: keys, required: ["aggregate"]) else { return nil }
        requireKey(for: "window", keyNode, flow: flow)
        checkEventTime(keyNode, source: &source, flow: flow)
        let kinds = ["tumbling", "sliding", "session"].filter { e[$0] != nil }
        if kinds.isEmpty {
            checker.report(
                node, "`window` names no window kind",
                help: "add `tumbling: 1h`, `sliding: { size: 1h, slide: 15m }` or `session: { gap: 30m }`")
        } else if kinds.count > 1, let second = e.keys[kinds[1]] {
            checker.report(second, "`window` has both `\(kinds[0])` and `\(kinds[1])`", help: "keep one window kind")
        }
        var kind: WindowKind?
        switch kinds.first {
        case "tumbling":
            kind = e["tumbling"].flatMap { checker.duration($0, "window.tumbling", positive: true) }
                .map { .tumbling(sizeMs: $0) }
        case "sliding":
            if let s = e["sliding"],
                let m = checker.mapping(s, "window.sliding", allowed: ["size", "slide"], required: ["size", "slide"]),
                let size = m["size"].flatMap({ checker.duration($0, "window.sliding.size", positive: true) }),
                let slideNode = m["slide"],
                let slide = checker.duration(slideNode, "window.sliding.slide", positive: true)
            {
                if slide > size {
                    checker.report(
                        slideNode, "`window.sliding.slide` is longer than `size`",
                        help: "a slide longer than the window skips rows; use at most \(Durations.format(size))")
                }
                kind = .sliding(sizeMs: size, slideMs: slide)
            }
        case "session":
            if let s = e["session"], let m = checker.mapping(s, "window.session", allowed: ["gap"], required: ["gap"]),
                let gap = m["gap"].flatMap({ checker.duration($0, "window.session.gap", positive: true) })
            {
                kind = .session(gapMs: gap)
            }
        default: break
        }
        let lateness = e["allowed_lateness"].map { checker.duration($0, "window.allowed_lateness") } ?? 0
        let lateOutput = e["late_output"].flatMap { checker.name($0, "window.late_output") }
        let aggregates = e["aggregate"].flatMap { readAggregates($0, path: "window.aggregate", flow: flow) }
        let windowFields = [Field("window_start", .timestamp), Field("window_end", .timestamp)]
        flow.schema = Schema(keyFields(flow) + windowFields + (aggregates?.fields ?? []))
        guard let kind, let lateness, let aggregates else { return nil }
        return .window(
            WindowSpec(
                kind: kind, aggregates: aggregates.specs, allowedLatenessMs: lateness,
                lateOutput: lateOutput))
    }

    /// Windows need event time: a timestamp field, or the Kafka message timestamp.
    func checkEventTime(_ keyNode: Node, source: inout SourceSpec?, flow: SchemaFlow) {
        guard var s = source else { return }
        if s.eventTime?.field != nil { return }
        if case .kafka = s.kind {
            if s.eventTime == nil { s.eventTime = EventTimeSpec(field: nil) }
            flow.addKafkaTimestamp()
            source = s
            return
        }
        checker.report(
            keyNode, "`window` needs event time, and this source has no event-time field",
            help: "set `source.event_time: { field: ts }` to a timestamp field of the schema")
    }
}
