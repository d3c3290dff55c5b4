import StreamCore
import StreamPipeline
import Testing

/// `source.kafka.instance`, `partitioned_by` and `allow_split_keys`, and what `--instance` does to a spec.
@Suite struct InstanceSpecTests {
    func yaml(
        _ kafkaExtra: String,
        operators: String = "  - key_by: shop\n  - window: { tumbling: 1m, aggregate: { n: count() } }"
    ) -> String {
        """
        name: t
        schema: { order_id: int64, shop: string, ts: timestamp }
        source:
          kafka:
            brokers: b:9092
            topics: [orders]
        \(kafkaExtra)
          event_time: { field: ts }
        operators:
        \(operators)
        sink:
          stdout: { format: json }
        state: { backend: rocksdb, dir: ./state/t }
        checkpoints: { dir: ./checkpoints/t/ }
        """
    }

    func errors(_ text: String) -> [String] {
        do {
            _ = try PipelineLoader.load(yaml: text, file: "t.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    func kafka(_ spec: PipelineSpec) -> KafkaSourceSpec? {
        if case .kafka(let k) = spec.source.kind { return k }
        return nil
    }

    @Test func instanceReadsAsStaticAssignmentOfAShare() throws {
        let spec = try PipelineLoader.load(
            yaml: yaml("    instance: 1/3\n    partitioned_by: [shop]"), file: "t.yaml")
        let k = try #require(kafka(spec))
        #expect(k.instance == SourceInstance(index: 1, count: 3))
        #expect(k.assignment == .static)
        #expect(k.partitionedBy == ["shop"])
        #expect(k.instance.map { i in (0..<9).filter { i.owns(partition: Int32($0)) } } == [1, 4, 7])
    }

    @Test func badInstanceValuesAndGroupAssignmentAreErrorsAtTheirPosition() {
        #expect(
            errors(yaml("    instance: 3/3"))
                == [
                    """
                    t.yaml:7:15: error: invalid value `3/3` for `source.kafka.instance`
                      help: write `I/N` with 0 <= I < N, e.g. `instance: 0/3` for the first of three processes
                    """
                ])
        let group = errors(yaml("    instance: 0/2\n    assignment: group"))
        #expect(group.count == 1)
        #expect(group.first?.hasPrefix("t.yaml:8:5: error: `instance` reads a share of the partitions") == true)
        let unknown = errors(yaml("    partitioned_by: [shopp]"))
        #expect(
            unknown.first?.hasPrefix("t.yaml:7:22: error: unknown field `shopp` in `source.kafka.partitioned_by`")
                == true)
    }

    @Test func anInstanceGetsStateAndCheckpointDirectoriesOfItsOwn() throws {
        let spec = try PipelineLoader.load(yaml: yaml(""), file: "t.yaml")
        let second = try Instances.apply(SourceInstance(index: 1, count: 2), to: spec)
        #expect(second.state.dir == "./state/t/instance-1-of-2")
        #expect(second.checkpoints.dir == "./checkpoints/t/instance-1-of-2")
        let files = try PipelineLoader.load(
            yaml: yaml("").replacingOccurrences(of: "stdout: { format: json }", with: "file: { path: out/t }"),
            file: "t.yaml")
        if case .file(let f) = try Instances.apply(SourceInstance(index: 1, count: 2), to: files).sink.kind {
            #expect(f.path == "out/t/instance=1")
        } else {
            Issue.record("the sink is no longer a file sink")
        }
        #expect(kafka(second)?.instance == SourceInstance(index: 1, count: 2))
        #expect(kafka(second)?.assignment == .static)
        // One instance of one is the whole topic.
        let whole = try Instances.apply(SourceInstance(index: 0, count: 1), to: spec)
        #expect(whole.state.dir == "./state/t")
    }

    @Test func keysThatDoNotFollowThePartitioningAreWarnedAboutUnlessAccepted() throws {
        func warnings(_ extra: String, operators: String? = nil) throws -> [String] {
            let text = operators.map { yaml(extra, operators: $0) } ?? yaml(extra)
            return Instances.splitKeyWarnings(try PipelineLoader.load(yaml: text, file: "t.yaml"))
        }
        #expect(try warnings("    partitioned_by: [shop]").isEmpty)
        #expect(try warnings("").isEmpty)  // one process reading everything: nothing to split
        let undeclared = try warnings("    instance: 0/2")
        #expect(undeclared.count == 1)
        #expect(undeclared.first?.hasPrefix("t.yaml:10:5: warning: operator `window-1`: the key (shop)") == true)
        #expect(undeclared.first?.contains("the topic's partitioning is not declared") == true)
        #expect(try warnings("    instance: 0/2\n    allow_split_keys: true").isEmpty)
        // Partitioned by a coarser key than the window's: still together.
        let wider = "  - key_by: [shop, order_id]\n  - window: { tumbling: 1m, aggregate: { n: count() } }"
        #expect(try warnings("    partitioned_by: [shop]", operators: wider).isEmpty)
        // A map that rewrites the partitioning field loses the guarantee.
        let rewritten = "  - map: { shop: upper(shop) }\n" + wider
        #expect(
            try warnings("    partitioned_by: [shop]", operators: rewritten).first?.contains("a map before it") == true)
        // A stateless pipeline splits nothing.
        #expect(try warnings("    instance: 0/2", operators: "  - filter: \"order_id > 0\"").isEmpty)
    }
}
