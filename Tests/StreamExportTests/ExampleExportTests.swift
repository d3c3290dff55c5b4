import Foundation
import StreamCore
import StreamExport
import StreamPipeline
import Testing

/// Every pipeline in examples/ either exports or fails with a positioned message; this says which.
@Suite struct ExampleExportTests {
    /// `nil`: exports. Otherwise the line and a piece of the one error it must fail with.
    static let expected: [String: (line: Int, column: Int, message: String)?] = [
        "file-source.yaml": nil,
        "orders-file.yaml": nil,
        "orders.yaml": (14, 5, "`brokers: embedded` is streamctl's in-process broker"),
        "orders-generator.yaml": (13, 3, "the `generator` source is streamctl's own"),
        "stdout.yaml": (5, 3, "the `generator` source is streamctl's own"),
    ]

    static let examples: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Repo.path("examples"))) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.sorted()
    }()

    @Test func everyExampleHasAnExpectation() {
        #expect(Set(Self.examples) == Set(Self.expected.keys))
    }

    @Test(arguments: examples)
    func exampleExportsOrFailsWithAPositionedMessage(_ name: String) throws {
        let path = Repo.path("examples/\(name)")
        let spec = try PipelineLoader.load(path: path)
        let profile = try ProfileLoader.resolve(
            name: spec.profiles.initial, spec: spec,
            searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: path))
        let expected = try #require(Self.expected[name])
        do {
            let sql = try FlinkSQLExport.script(for: spec, profile: profile)
            #expect(expected == nil, "\(name) exported but should fail")
            #expect(sql.contains("CREATE TABLE `source`") && sql.contains("INSERT INTO `sink`"))
        } catch {
            let want = try #require(expected, "\(name): \(error)")
            #expect(error.errors.count == 1, "\(error)")
            let e = try #require(error.errors.first)
            #expect(e.line == want.line && e.column == want.column, "\(e)")
            #expect(e.message.contains(want.message), "\(e)")
            #expect(e.help != nil)
        }
    }

    @Test func ordersExampleExportsOnceTheBrokersAreNamed() throws {
        let path = Repo.path("examples/orders.yaml")
        let spec = try PipelineLoader.load(path: path)
        let profile = try ProfileLoader.resolve(
            name: "backfill", spec: spec, searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: path))
        let sql = try FlinkSQLExport.script(
            for: spec, profile: profile, options: FlinkExportOptions(brokers: "kafka-1:9092"))
        #expect(sql.contains("'properties.bootstrap.servers' = 'kafka-1:9092'"))
        #expect(sql.contains("'properties.group.id' = 'orders-hourly'"))
        #expect(sql.contains("'scan.startup.mode' = 'group-offsets'"))
        // The pipeline's backfill override (parallelism 2) is the profile's parallelism.
        #expect(sql.contains("SET 'parallelism.default' = '2';"))
        #expect(sql.contains("SET 'state.backend.type' = 'rocksdb';"))
        #expect(sql.contains("-- differs: on_bad_record: dead_letter becomes ignore-parse-errors"))
        #expect(sql.contains(") PARTITIONED BY (`date`, `hour`) WITH ("))
    }
}
