import StreamCore

/// The job graph as Graphviz DOT: one node per source, operator and sink, labelled with id, kind and
/// parallelism; edges labelled `forward` or `key_by(fields)`. A `key_by` is drawn as the edge it creates.
public enum JobGraphDOT {
    /// What a running job adds to a node: a fill colour and a line under its label.
    public struct Decoration: Sendable, Hashable {
        public var fill: String
        public var note: String
        public init(fill: String, note: String) {
            self.fill = fill
            self.note = note
        }
    }

    /// `decorations` by node id (`source`, an operator id, `sink`) colour the nodes of a running job.
    public static func render(_ spec: PipelineSpec, profile: Profile, decorations: [String: Decoration] = [:]) -> String {
        var lines = [
            "digraph \(quote(spec.name)) {",
            "    rankdir=LR;",
            "    node [shape=box, style=rounded, fontname=\"Helvetica\"];",
            "    edge [fontname=\"Helvetica\", fontsize=10];",
        ]
        func node(_ id: String, _ kind: String, pinned: Int?) {
            let p = profile.parallelism(of: id, pinned: pinned)
            if let d = decorations[id] {
                lines.append(
                    "    \(quote(id)) [label=\(quote("\(id)\n\(kind)\nparallelism \(p)\n\(d.note)")), "
                        + "style=\"rounded,filled\", fillcolor=\(quote(d.fill))];")
            } else {
                lines.append("    \(quote(id)) [label=\(quote("\(id)\n\(kind)\nparallelism \(p)"))];")
            }
        }
        node("source", sourceKind(spec.source.kind), pinned: spec.source.parallelism)
        var previous = "source"
        var edges: [String] = []
        // Labels follow the planner's routing rule: an edge into a keyed operator routes by key.
        let routing = EdgeRouting.keys(of: spec.operators)
        func label(_ key: [String]?) -> String { key.map { "key_by(\($0.joined(separator: ", ")))" } ?? "forward" }
        var e = 0
        for op in spec.operators {
            if case .keyBy = op.kind { continue }
            node(op.id, operatorKind(op.kind), pinned: op.parallelism)
            edges.append("    \(quote(previous)) -> \(quote(op.id)) [label=\(quote(label(routing[e].key)))];")
            e += 1
            previous = op.id
        }
        node("sink", sinkKind(spec.sink.kind), pinned: spec.sink.parallelism)
        var edge = label(routing.last?.key)
        if case .file(let file) = spec.sink.kind, file.keyByBucket, file.bucket != nil {
            edge = "key_by(bucket)"
        }
        edges.append("    \(quote(previous)) -> \"sink\" [label=\(quote(edge))];")
        return (lines + edges + ["}"]).joined(separator: "\n") + "\n"
    }

    static func sourceKind(_ kind: SourceKind) -> String {
        switch kind {
        case .kafka(let k): "kafka \(k.topics.joined(separator: ", "))"
        case .file: "file"
        case .generator: "generator"
        }
    }

    static func operatorKind(_ kind: OperatorKind) -> String {
        switch kind {
        case .filter: return "filter"
        case .map(_, let keep): return keep ? "map" : "select"
        case .keyBy: return "key_by"
        case .window(let w):
            switch w.kind {
            case .tumbling(let size): return "window tumbling \(Durations.format(size))"
            case .sliding(let size, let slide):
                return "window sliding \(Durations.format(size)) every \(Durations.format(slide))"
            case .session(let gap): return "window session gap \(Durations.format(gap))"
            }
        case .runningAggregate: return "aggregate"
        case .dedupe: return "dedupe"
        }
    }

    static func sinkKind(_ kind: SinkKind) -> String {
        switch kind {
        case .stdout(let f): "stdout \(f.rawValue)"
        case .file(let f): "file \(f.format.rawValue)"
        case .kafka(let k): "kafka \(k.topic)"
        case .null: "null"
        }
    }

    static func quote(_ s: String) -> String {
        "\""
            + s.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"")
            .replacingOccurrences("\n", "\\n") + "\""
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
