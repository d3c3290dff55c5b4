import Foundation
import StreamCore
import StreamPipeline
import Testing

/// What `validate` used to pass and `run` then rejected or crashed on: each is now a positioned error.
@Suite struct FirstDayValidationTests {
    static let sample = Repo.path("examples/data/orders-sample.jsonl")

    /// A file-source pipeline with `operators` and `extra` top-level text spliced in.
    func errors(
        schema: String = "{ order_id: int64, shop: string, amount: decimal(2), ts: timestamp }",
        source: String? = nil, operators: String = "", sink: String = "stdout: {}", extra: String = ""
    ) -> String {
        let yaml = """
            name: p
            schema: \(schema)
            source:
            \(source ?? "  file: { paths: [\"\(Self.sample)\"] }\n  event_time: { field: ts }")
            operators:
            \(operators.isEmpty ? "  []" : operators)
            sink:
              \(sink)
            \(extra)
            """
        do {
            _ = try PipelineLoader.load(yaml: yaml, file: "p.yaml")
            return ""
        } catch {
            return error.description
        }
    }

    @Test func hugeTumblingWindowIsRejectedAtValidation() {
        let message = errors(
            operators: "  - key_by: shop\n  - window: { tumbling: 99999999999d, aggregate: { n: count() } }")
        #expect(message.contains("`window.tumbling` must be at most 36500d (100 years), found `99999999999d`"))
        #expect(message.hasPrefix("p.yaml:8:25: error:"))
    }

    @Test func generatorKeyCountIsBounded() {
        for keys in ["100000000000000", "1000000000"] {
            let message = errors(source: "  generator: { keys: \(keys) }")
            #expect(message.contains("`source.generator.keys` must be at most 10,000,000, found `\(keys)`"))
        }
        #expect(errors(source: "  generator: { keys: 10000000 }").isEmpty)
    }

    @Test func generatorWhoseLastRowIsPastTheYear9999IsRejected() {
        let message = errors(source: "  generator: { rows: 1000000000000, step: 36500d }")
        #expect(message.contains("runs past the year 9999"))
    }

    @Test func stateMemoryOutsideItsRangeIsRejected() {
        #expect(errors(extra: "state: { memory: 1B }").contains("`state.memory` must be at least 16MiB, found `1B`"))
        #expect(
            errors(extra: "state: { memory: 999999TiB }").contains(
                "`state.memory` must be at most 16TiB, found `999999TiB`"))
        #expect(errors(extra: "state: { memory: 64MiB }").isEmpty)
    }

    @Test func parallelismAboveTheKeyGroupCountIsRejected() {
        let message = errors(
            operators:
                "  - key_by: shop\n  - window: { tumbling: 1h, aggregate: { n: count() } }\n    parallelism: 1000")
        #expect(message.contains("`window-1.parallelism` must be at most 128, found `1000`"))
    }

    @Test func typeAliasesAreNotSilentlyAccepted() {
        let message = errors(schema: "{ order_id: int, shop: string, amount: decimal(2), ts: timestamp }")
        #expect(message.contains("unknown field type `int` for `order_id`"))
        #expect(message.contains("help: write `int64`"))
    }

    @Test(arguments: ["%j", "%F", "%y"])
    func commonStrftimeDirectivesAreAccepted(_ directive: String) {
        let message = errors(
            operators: "  - key_by: shop\n  - window: { tumbling: 1h, aggregate: { n: count() } }",
            sink: "file: { path: out, bucket: \"d={window_start:\(directive)}\" }")
        #expect(message.isEmpty)
    }

    @Test func unsupportedBucketDirectiveIsReportedWithItsPosition() {
        let message = errors(
            operators: "  - key_by: shop\n  - window: { tumbling: 1h, aggregate: { n: count() } }",
            sink: "file: { path: out, bucket: \"d={window_start:%Q}\" }")
        #expect(
            message == """
                p.yaml:10:47: error: unsupported format directive `%Q` in bucket template
                  help: use %Y %y %m %d %j %F (= %Y-%m-%d) %H %M %S and %%
                """)
    }

    @Test func pathPatternThatMatchesNothingIsReportedWithItsPosition() {
        let message = errors(source: "  file: { paths: [nothere*.jsonl] }\n  event_time: { field: ts }")
        #expect(
            message == """
                p.yaml:4:19: error: `nothere*.jsonl` in `source.file.paths` matches no file
                  help: paths and patterns are taken relative to the current directory
                """)
    }

    @Test func timestampUnitIsAcceptedOnlyOnTimestamps() {
        #expect(
            errors(schema: "{ order_id: int64, shop: string, amount: decimal(2), ts: { type: timestamp, unit: s } }")
                .isEmpty)
        #expect(
            errors(schema: "{ order_id: { type: int64, unit: s }, shop: string, amount: decimal(2), ts: timestamp }")
                .contains("`unit` applies only to timestamp fields; `order_id` is int64"))
        #expect(
            errors(schema: "{ order_id: int64, shop: string, amount: decimal(2), ts: { type: timestamp, unit: days } }")
                .contains("unknown timestamp unit `days` for `schema.ts.unit`"))
    }

    @Test func strictDecimalRoundingMarksTheSchemasDecimals() throws {
        let yaml = """
            name: p
            schema: { amount: decimal(2), ts: timestamp }
            source:
              file: { paths: ["\(Self.sample)"] }
              event_time: { field: ts }
              decimal_rounding: strict
            sink:
              stdout: {}
            """
        let spec = try PipelineLoader.load(yaml: yaml, file: "p.yaml")
        #expect(spec.schema.field(named: "amount")?.strictDecimal == true)
        let rounding = try PipelineLoader.load(
            yaml: yaml.replacingOccurrences(of: "strict", with: "half_even"), file: "p.yaml")
        #expect(rounding.schema.field(named: "amount")?.strictDecimal == false)
    }

    @Test func profileFileErrorsAreReportedTogetherWithThePipelines() {
        let dir = TempDir()
        _ = dir.write(
            "p.yaml",
            """
            name: p
            schema: { shop: strng, ts: timestamp }
            source:
              generator: {}
            sink:
              stdout: {}
            profiles: { initial: fast }
            """)
        try? FileManager.default.createDirectory(atPath: "\(dir.path)/profiles", withIntermediateDirectories: true)
        _ = dir.write("profiles/fast.yaml", "batch_size: lots\n")
        var message = ""
        do {
            _ = try PipelineLoader.loadResolved(path: "\(dir.path)/p.yaml", profile: nil)
        } catch {
            message = error.description
        }
        #expect(message.contains("p.yaml:2:"))
        #expect(message.contains("profiles/fast.yaml:1:13: error: expected an integer for `batch_size`, found `lots`"))
    }

    @Test func directoryAsPipelineFileSaysSo() {
        let dir = TempDir()
        var message = ""
        do { _ = try PipelineLoader.load(path: dir.path) } catch { message = error.description }
        #expect(message.contains("error: the pipeline file is a directory"))
    }

    @Test func binaryFileAsPipelineFileSaysItIsNotYAMLText() {
        let dir = TempDir()
        let path = "\(dir.path)/x.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0xFF, 0xFE]))
        var message = ""
        do { _ = try PipelineLoader.load(path: path) } catch { message = error.description }
        #expect(message.contains("error: the pipeline file is not a YAML text file"))
    }
}
