/// The routing rule for the edges of a linear pipeline, in one place for the planner and the job graph:
/// every edge into a keyed operator (window, aggregate) routes by the current key, whatever stateless
/// operators stand between it and its `key_by`; the edge right after a `key_by` routes by that key too;
/// dedupe routes by its own key; every other edge is forward.
public enum EdgeRouting {
    /// Key fields the input edge of each non-`key_by` operator routes by (nil: forward), by operator id.
    /// The last entry, under `sinkEdgeId`, is the edge into the sink.
    public static func keys(of operators: [OperatorSpec]) -> [(id: String, key: [String]?)] {
        var edges: [(id: String, key: [String]?)] = []
        var current: [String]? = nil
        var afterKeyBy = false
        for op in operators {
            switch op.kind {
            case .keyBy(let names):
                current = names
                afterKeyBy = true
                continue
            case .window, .runningAggregate:
                edges.append((op.id, current))
                // The output is keyed by the same fields, but a new key_by is needed to route by them again.
                current = nil
            case .dedupe(let names, _):
                edges.append((op.id, names))
            case .filter:
                edges.append((op.id, afterKeyBy ? current : nil))
            case .map(let fields, let keep):
                edges.append((op.id, afterKeyBy ? current : nil))
                if let names = current, !keep, !names.allSatisfy({ n in fields.contains { $0.name == n } }) {
                    current = nil
                }
            }
            afterKeyBy = false
        }
        edges.append((sinkEdgeId, afterKeyBy ? current : nil))
        return edges
    }

    public static let sinkEdgeId = "sink"
}
