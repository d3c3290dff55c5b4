import Foundation
import StreamCore
import StreamPipeline
import Testing

@Suite struct ExampleTests {
    static let examples: [String] = {
        let dir = Repo.path("examples")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.sorted()
    }()

    @Test func theFourDocumentedExamplesExist() {
        #expect(
            Set(["orders.yaml", "orders-generator.yaml", "stdout.yaml", "file-source.yaml"])
                .isSubset(of: Set(Self.examples)))
    }

    @Test(arguments: examples)
    func exampleLoadsWithoutError(_ name: String) throws {
        let path = Repo.path("examples/\(name)")
        do {
            _ = try PipelineLoader.load(path: path)
        } catch {
            // Without the full expression language only expression lines (`filter:`, `map:`) may fail.
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let onlyExpressions = error.errors.allSatisfy { e in
                e.line > 0 && e.line <= lines.count && lines[e.line - 1].contains("filter:")
            }
            #expect(!Repo.expressionsHaveOperators && onlyExpressions, "\(error)")
        }
    }

    @Test func ordersExampleReadsKafkaWindowsHourlyAndWritesHiveBuckets() throws {
        let spec = try PipelineLoader.load(path: Repo.path("examples/orders.yaml"))
        #expect(spec.name == "orders-hourly")
        #expect(spec.schema.fields.map(\.name) == ["order_id", "shop", "customer", "amount", "ts"])
        #expect(spec.schema.field(named: "amount")?.type == .decimal(scale: 2))
        #expect(
            spec.source.kind
                == .kafka(
                    KafkaSourceSpec(
                        brokers: "embedded", topics: ["orders"], group: "orders-hourly", startFrom: .committed,
                        assignment: .static)))
        #expect(spec.source.eventTime == EventTimeSpec(field: "ts", maxDisorderMs: 5_000, idleTimeoutMs: 10_000))
        #expect(spec.source.onBadRecord == .deadLetter(path: "out/orders-bad.jsonl"))
        #expect(spec.operators.map(\.id) == ["key_by-1", "hourly"])
        #expect(spec.operators[0].kind == .keyBy(["shop"]))
        #expect(
            spec.operators[1].kind
                == .window(
                    WindowSpec(
                        kind: .tumbling(sizeMs: 3_600_000),
                        aggregates: [
                            AggregateSpec(
                                name: "orders", function: .count, field: nil, at: SourceLocation(line: 31, column: 17)),
                            AggregateSpec(
                                name: "revenue", function: .sum, field: "amount",
                                at: SourceLocation(line: 32, column: 18)),
                        ])))
        #expect(spec.operators[1].location == SourceLocation(line: 28, column: 5))
        #expect(
            spec.sink.kind
                == .file(
                    FileSinkSpec(
                        path: "out/orders", bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}",
                        format: .json,
                        rollSizeBytes: 128 << 20, keyByBucket: true)))
        #expect(
            spec.state
                == StateSpec(
                    backend: .rocksdb, dir: "./state/orders", memoryBytes: 512 << 20,
                    blockCacheBytes: 256 << 20))
        #expect(spec.checkpoints == CheckpointSpec(dir: "./checkpoints/orders", retain: 3, enabled: true))
        #expect(spec.profiles.initial == "steady")
        #expect(spec.profiles.overrides["backfill"]?.batchSize == 8192)
        #expect(
            spec.profiles.auto
                == AutoSwitchSpec(
                    enabled: true, backfillAboveLag: 1_000_000,
                    steadyBelowLag: 10_000, minDwellMs: 60_000))
    }

    @Test func generatorExampleCarriesEveryGeneratorSetting() throws {
        let spec = try PipelineLoader.load(path: Repo.path("examples/orders-generator.yaml"))
        #expect(
            spec.source.kind
                == .generator(
                    GeneratorSpec(
                        seed: 7, rows: 100_000, rate: nil, keys: 100, skew: 1.1, disorderMs: 5_000,
                        startTime: 1_795_737_600_000, stepMs: 10, splits: 4)))
    }

    @Test func fileSourceExampleShipsItsSampleData() throws {
        let spec = try PipelineLoader.load(path: Repo.path("examples/file-source.yaml"))
        guard case .file(let file) = spec.source.kind else {
            Issue.record("expected a file source")
            return
        }
        let text = try String(contentsOfFile: Repo.path(file.paths[0]), encoding: .utf8)
        #expect(text.split(separator: "\n").count == 50)
    }

    @Test func jobGraphOfTheOrdersExampleShowsKeyedEdgesAndParallelism() throws {
        let spec = try PipelineLoader.load(path: Repo.path("examples/orders.yaml"))
        let profile = try ProfileLoader.resolve(
            name: "backfill", spec: spec,
            searchDirectories: [Repo.path("profiles")])
        #expect(
            JobGraphDOT.render(spec, profile: profile) == """
                digraph "orders-hourly" {
                    rankdir=LR;
                    node [shape=box, style=rounded, fontname="Helvetica"];
                    edge [fontname="Helvetica", fontsize=10];
                    "source" [label="source\\nkafka orders\\nparallelism 2"];
                    "hourly" [label="hourly\\nwindow tumbling 1h\\nparallelism 2"];
                    "sink" [label="sink\\nfile json\\nparallelism 2"];
                    "source" -> "hourly" [label="key_by(shop)"];
                    "hourly" -> "sink" [label="key_by(bucket)"];
                }

                """)
    }

    @Test func jobGraphLabelsTheEdgeIntoAWindowByKeyAfterAFilter() throws {
        let spec = try PipelineLoader.load(
            yaml: """
                name: routed
                schema: { order_id: int64, shop: string, ts: timestamp }
                source:
                  generator: { rows: 10 }
                  event_time: { field: ts }
                operators:
                  - key_by: shop
                  - filter: order_id > 0
                    id: f
                    parallelism: 1
                  - window: { tumbling: 1h, aggregate: { n: count() } }
                    id: w
                    parallelism: 3
                sink: { stdout: { format: json } }
                """, file: "routed.yaml")
        let dot = JobGraphDOT.render(spec, profile: Profile(name: "t", parallelism: 2))
        #expect(dot.contains("\"source\" -> \"f\" [label=\"key_by(shop)\"];"))
        #expect(dot.contains("\"f\" -> \"w\" [label=\"key_by(shop)\"];"))
        #expect(dot.contains("\"w\" -> \"sink\" [label=\"forward\"];"))
    }
}
