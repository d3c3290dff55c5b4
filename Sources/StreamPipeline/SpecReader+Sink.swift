import StreamCore
import Yams

extension SpecReader {
    static let sinkKinds = ["file", "stdout", "kafka", "null"]

    func readSink(_ node: Node, flow: SchemaFlow) -> SinkSpec? {
        guard let e = checker.mapping(node, "sink", allowed: Self.sinkKinds + ["parallelism"]) else { return nil }
        let kinds = Self.sinkKinds.filter { e[$0] != nil }
        if kinds.isEmpty {
            checker.report(node, "`sink` names no sink", help: "add one of `file:`, `stdout:`, `kafka:` or `null:`")
        } else if kinds.count > 1, let second = e.keys[kinds[1]] {
            checker.report(
                second, "`sink` has both `\(kinds[0])` and `\(kinds[1])`",
                help: "a pipeline writes one sink; keep one of them")
        }
        let parallelism = e["parallelism"].flatMap {
            checker.int($0, "sink.parallelism", min: 1, max: Bounds.parallelism)
        }
        var kind: SinkKind?
        switch kinds.first {
        case "file": kind = e["file"].flatMap { readFileSink($0, flow: flow) }.map(SinkKind.file)
        case "kafka": kind = e["kafka"].flatMap { readKafkaSink($0, flow: flow) }.map(SinkKind.kafka)
        case "stdout":
            let n = e["stdout"]!
            if checker.isNull(n) {
                kind = .stdout(.json)
            } else if let m = checker.mapping(n, "sink.stdout", allowed: ["format"]) {
                let format = m["format"].map { checker.choice($0, "sink.stdout.format", Self.outputFormats) } ?? .json
                kind = format.map(SinkKind.stdout)
            }
        case "null":
            let n = e["null"]!
            if checker.isNull(n) || checker.mapping(n, "sink.null", allowed: []) != nil { kind = .null }
        default: break
        }
        guard let kind else { return nil }
        return SinkSpec(kind: kind, parallelism: parallelism)
    }

    static let outputFormats: KeyValuePairs<String, OutputFormat> = ["json": .json, "csv": .csv]

    func readFileSink(_ node: Node, flow: SchemaFlow) -> FileSinkSpec? {
        let keys = ["path", "bucket", "format", "roll_size", "key_by_bucket"]
        guard let e = checker.mapping(node, "sink.file", allowed: keys, required: ["path"]) else { return nil }
        let path = e["path"].flatMap { checker.name($0, e.sub("path")) }
        var spec = FileSinkSpec(path: path ?? "")
        var ok = path != nil
        if let n = e["bucket"] {
            if let template = checker.string(n, e.sub("bucket")), checkBucket(template, n, flow: flow) {
                spec.bucket = template
            } else {
                ok = false
            }
        }
        if let n = e["format"] {
            if let f = checker.choice(n, e.sub("format"), Self.outputFormats) { spec.format = f } else { ok = false }
        }
        if let n = e["roll_size"] {
            if let v = checker.size(n, e.sub("roll_size"), positive: true) {
                spec.rollSizeBytes = v
            } else {
                ok = false
            }
        }
        if let n = e["key_by_bucket"] {
            if let v = checker.bool(n, e.sub("key_by_bucket")) { spec.keyByBucket = v } else { ok = false }
        }
        return ok ? spec : nil
    }

    /// Checks `{field}` and `{field:strftime}` placeholders against the sink's input schema.
    func checkBucket(_ template: String, _ node: Node, flow: SchemaFlow) -> Bool {
        let chars = Array(template)
        var ok = true
        var i = 0
        while i < chars.count {
            if chars[i] == "}" {
                let at = checker.location(in: node, offset: i)
                checker.report(
                    line: at.line, column: at.column, "unmatched `}` in bucket template",
                    help: "placeholders look like `{field}` or `{field:%Y-%m-%d}`")
                return false
            }
            guard chars[i] == "{" else { i += 1; continue }
            guard let close = chars[i...].firstIndex(of: "}") else {
                let at = checker.location(in: node, offset: i)
                checker.report(
                    line: at.line, column: at.column, "unclosed `{` in bucket template",
                    help: "placeholders look like `{field}` or `{field:%Y-%m-%d}`")
                return false
            }
            let body = String(chars[(i + 1)..<close])
            let field = String(body.prefix { $0 != ":" })
            let hasFormat = body.contains(":")
            let at = checker.location(in: node, offset: i + 1)
            if field.isEmpty {
                checker.report(
                    line: at.line, column: at.column, "empty placeholder in bucket template",
                    help: "name a field, e.g. `{window_start:%Y-%m-%d}`")
                ok = false
            } else if !flow.has(field) {
                unknownField(field, at: at, in: "bucket template", flow: flow)
                ok = false
            } else if hasFormat, let type = flow.type(of: field), type != .timestamp {
                checker.report(
                    line: at.line, column: at.column,
                    "`{\(body)}` formats a timestamp, but `\(field)` is \(type)",
                    help: "write `{\(field)}` to use its value as is")
                ok = false
            }
            i = close + 1
        }
        // What `run` builds from the template (directives, path components) is checked here too.
        if ok, !flow.doubtful.contains(where: { template.contains("{\($0)") }) {
            do throws(ExpressionError) {
                _ = try BucketTemplate(template, schema: flow.schema)
            } catch {
                let prefix = template.utf8.prefix(error.offset)
                let at = checker.location(
                    in: node, offset: String(decoding: prefix, as: UTF8.self).unicodeScalars.count)
                checker.report(
                    line: at.line, column: at.column, "\(error.message) in bucket template", help: error.help)
                ok = false
            }
        }
        return ok
    }

    func readKafkaSink(_ node: Node, flow: SchemaFlow) -> KafkaSinkSpec? {
        guard
            let e = checker.mapping(
                node, "sink.kafka", allowed: ["brokers", "topic", "key", "properties"],
                required: ["brokers", "topic"])
        else { return nil }
        let brokers = e["brokers"].flatMap { checker.name($0, e.sub("brokers")) }
        let topic = e["topic"].flatMap { checker.name($0, e.sub("topic")) }
        var keyField: String?
        var ok = true
        if let n = e["key"] {
            if let k = checker.name(n, e.sub("key")), flow.has(k) {
                keyField = k
            } else {
                if let k = n.scalar?.string, !k.isEmpty {
                    unknownField(k, at: checker.location(n), in: "`sink.kafka.key`", flow: flow)
                }
                ok = false
            }
        }
        var properties: [String: String] = [:]
        if let n = e["properties"] {
            if let p = checker.properties(n, e.sub("properties")) { properties = p } else { ok = false }
        }
        guard ok, let brokers, let topic else { return nil }
        return KafkaSinkSpec(brokers: brokers, topic: topic, keyField: keyField, properties: properties)
    }

    func readState(_ node: Node) -> StateSpec? {
        guard
            let e = checker.mapping(
                node, "state", allowed: ["backend", "dir", "memory", "block_cache", "worker_cache"])
        else {
            return nil
        }
        var spec = StateSpec()
        if let n = e["backend"],
            let b = checker.choice(n, "state.backend", ["memory": StateBackendKind.memory, "rocksdb": .rocksdb])
        {
            spec.backend = b
        }
        if let n = e["dir"], let d = checker.name(n, "state.dir") { spec.dir = d }
        if let n = e["memory"],
            let m = checker.size(n, "state.memory", min: Bounds.stateMemoryMin, max: Bounds.stateMemoryMax)
        {
            spec.memoryBytes = m
        }
        if let n = e["block_cache"] {
            switch n.scalar?.string {
            case "off": spec.blockCacheBytes = 0
            case "auto": spec.blockCacheBytes = nil
            default:
                if let s = n.scalar?.string, let bytes = Sizes.parseBytes(s) {
                    spec.blockCacheBytes = bytes
                    if bytes > spec.memoryBytes {
                        checker.report(
                            n,
                            "`state.block_cache` (\(s)) is larger than `state.memory` "
                                + "(\(Sizes.format(spec.memoryBytes)))",
                            help: "the block cache lives inside the memory budget")
                    }
                } else {
                    checker.report(
                        n, "invalid size \(checker.describe(n)) for `state.block_cache`",
                        help: "write `off`, `auto` or a size; accepted units: \(Sizes.acceptedUnits)")
                }
            }
        }
        if let n = e["worker_cache"] {
            switch n.scalar?.string {
            case "off": spec.workerCacheBytes = 0
            case "auto": spec.workerCacheBytes = nil
            default:
                if let s = n.scalar?.string, let bytes = Sizes.parseBytes(s) {
                    spec.workerCacheBytes = bytes
                    if bytes > spec.memoryBytes / 2 {
                        checker.report(
                            n,
                            "`state.worker_cache` (\(s)) is more than half of `state.memory` "
                                + "(\(Sizes.format(spec.memoryBytes)))",
                            help: "the worker caches live inside the memory budget")
                    }
                } else {
                    checker.report(
                        n, "invalid size \(checker.describe(n)) for `state.worker_cache`",
                        help: "write `off`, `auto` or a size; accepted units: \(Sizes.acceptedUnits)")
                }
            }
        }
        return spec
    }

    func readCheckpoints(_ node: Node) -> CheckpointSpec? {
        guard let e = checker.mapping(node, "checkpoints", allowed: ["dir", "retain"]) else { return nil }
        var spec = CheckpointSpec(enabled: true)
        if let n = e["dir"], let d = checker.name(n, "checkpoints.dir") { spec.dir = d }
        if let n = e["retain"], let r = checker.int(n, "checkpoints.retain", min: 1, max: Bounds.retainedCheckpoints) {
            spec.retain = r
        }
        return spec
    }
}
