import StreamCore

/// Several streamctl processes on one topic: process I of N (`--instance I/N` or `source.kafka.instance`)
/// reads the partitions p with p % N == I, with state and checkpoint directories of its own, and a file sink
/// writes under `instance=I` of its path.
public enum Instances {
    /// The pipeline as instance `flag` (or the file's own `source.kafka.instance`) runs it. One instance of one
    /// is the whole topic and changes nothing.
    public static func apply(_ flag: SourceInstance?, to spec: PipelineSpec) throws(PipelineErrors) -> PipelineSpec {
        guard case .kafka(var kafka) = spec.source.kind else {
            guard flag == nil else {
                throw PipelineErrors([
                    PipelineError(
                        file: spec.file, line: 0, column: 0, message: "--instance needs a Kafka source",
                        help: "several processes share a Kafka topic's partitions; other sources have none")
                ])
            }
            return spec
        }
        guard let instance = flag ?? kafka.instance, instance.count > 1 else { return spec }
        var out = spec
        kafka.instance = instance
        kafka.assignment = .static
        out.source.kind = .kafka(kafka)
        let suffix = "instance-\(instance.index)-of-\(instance.count)"
        out.state.dir = joined(spec.state.dir, suffix)
        out.checkpoints.dir = joined(spec.checkpoints.dir, suffix)
        // Every process names its part files part-<worker>-<seq>: a Hive-style level of its own keeps them apart
        // and leaves the tree readable as one table (with an `instance` column).
        if case .file(var file) = spec.sink.kind {
            file.path = joined(file.path, "instance=\(instance.index)")
            out.sink.kind = .file(file)
        }
        return out
    }

    private static func joined(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// When several processes read the topic (an instance of N > 1, or a declared `partitioned_by`) and rows
    /// with one key of a keyed operator can arrive at different processes, each process would compute its own
    /// part of that key's answer: one warning per such operator, at its `key_by`, unless
    /// `allow_split_keys: true`.
    public static func splitKeyWarnings(_ spec: PipelineSpec) -> [String] {
        guard case .kafka(let kafka) = spec.source.kind, !kafka.allowSplitKeys,
            (kafka.instance?.count ?? 1) > 1 || kafka.partitionedBy != nil
        else { return [] }
        var warnings: [String] = []
        // The partitioning survives only while a map leaves its fields as they came from the topic.
        var partitioning = kafka.partitionedBy.map(Set.init)
        var key: (fields: [String], at: SourceLocation)?
        for op in spec.operators {
            var keyed: [String]?
            switch op.kind {
            case .keyBy(let fields): key = (fields, op.location)
            case .map(let fields, _):
                if let p = partitioning,
                    fields.contains(where: { p.contains($0.name) && $0.expression.text != $0.name })
                {
                    partitioning = []
                }
            case .window, .runningAggregate: keyed = key?.fields ?? []
            case .dedupe(let fields, _): keyed = fields
            case .filter: break
            }
            guard let k = keyed else { continue }
            let at = key?.at ?? op.location
            if let p = partitioning, !p.isEmpty, p.isSubset(of: Set(k)) { continue }
            let keyText = k.isEmpty ? "no key" : "key (\(k.joined(separator: ", ")))"
            let reason =
                kafka.partitionedBy == nil
                ? "the topic's partitioning is not declared"
                : partitioning == []
                    ? "a map before it changes the partitioning fields"
                    : "the topic is partitioned by (\(kafka.partitionedBy!.joined(separator: ", ")))"
            warnings.append(
                "\(spec.file):\(at.line):\(at.column): warning: operator `\(op.id)`: the \(keyText) does not follow "
                    + "the partitioning (\(reason)); with several processes on the topic each would compute its own "
                    + "part of a key's answer, split across their outputs\n"
                    + "  help: key the topic's messages by fields of the key and declare them in "
                    + "`source.kafka.partitioned_by`, or set `source.kafka.allow_split_keys: true` to accept it")
        }
        return warnings
    }
}
