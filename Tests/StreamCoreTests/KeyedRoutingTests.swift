import Testing

@testable import StreamCore

/// Every edge into a keyed operator routes by key group, whatever stateless operators stand between it and
/// its `key_by`, so unequal parallelism on either side of a filter gives the same windows.
@Suite struct KeyedRoutingTests {
    static let gen = GeneratorSpec(seed: 5, rows: 12_000, keys: 200, skew: 1.1, disorderMs: 0, stepMs: 3_000, splits: 4)

    func spec() -> PipelineSpec {
        PipelineSpec(
            name: "routing", schema: ordersSchema,
            source: SourceSpec(kind: .generator(Self.gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 0)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(id: "f", kind: .filter(ExpressionText("order_id % 3 != 0"))),
                OperatorSpec(
                    id: "w",
                    kind: .window(
                        WindowSpec(
                            kind: .tumbling(sizeMs: 3_600_000),
                            aggregates: [AggregateSpec(name: "orders", function: .count, field: nil)]))),
            ],
            sink: SinkSpec(kind: .null))
    }

    /// Hourly counts per shop by a plain loop over the generated rows.
    func reference() -> [String] {
        let source = GeneratorSource(spec: Self.gen)
        var counts: [String: Int] = [:]
        for i in 0..<Self.gen.rows! {
            let r = source.row(i)
            guard r.orderId % 3 != 0 else { continue }
            let start = (r.ts / 3_600_000) * 3_600_000
            counts["shop-\(r.shop)|\(start)|\(start + 3_600_000)", default: 0] += 1
        }
        return counts.map { "\($0.key)|\($0.value)" }.sorted()
    }

    func run(filter: Int, window: Int) throws -> [String] {
        let profile = Profile(
            name: "t", parallelism: 1, operatorParallelism: ["source": 2, "f": filter, "w": window], batchSize: 256)
        let sink = CollectingSink()
        let plan = try JobPlanner.plan(
            spec(), profile: profile,
            parts: .init(source: GeneratorSource(spec: Self.gen), sink: sink, state: MemoryStateBackend()))
        let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
        try job.start()
        try job.wait()
        return canonical(sink.all)
    }

    @Test(arguments: [(1, 3), (2, 3), (4, 1), (3, 2)])
    func filterBetweenKeyByAndWindowWithUnequalParallelismGivesTheSameWindows(filter: Int, window: Int) throws {
        let single = try run(filter: 1, window: 1)
        #expect(single == reference())
        let rows = try run(filter: filter, window: window)
        #expect(rows.count == single.count)
        #expect(rows == single)
    }

    @Test func theEdgeIntoAWindowRoutesByKeyInThePlan() throws {
        let profile = Profile(name: "t", parallelism: 1, operatorParallelism: ["f": 1, "w": 3])
        let plan = try JobPlanner.plan(
            spec(), profile: profile,
            parts: .init(source: GeneratorSource(spec: Self.gen), sink: CollectingSink(), state: MemoryStateBackend()))
        let window = plan.stages.first { $0.id == "w" }!
        guard case .keyed = window.input else {
            Issue.record("the edge filter → window is not keyed")
            return
        }
        let edges = EdgeRouting.keys(of: spec().operators)
        #expect(edges.map(\.id) == ["f", "w", "sink"])
        #expect(edges.map(\.key) == [["shop"], ["shop"], nil])
    }
}
