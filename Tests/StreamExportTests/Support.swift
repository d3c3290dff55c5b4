import Foundation
import StreamCore
import StreamExport
import StreamPipeline

/// Paths inside the repository, for the examples.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func path(_ relative: String) -> String { "\(root)/\(relative)" }
}

/// Loads a pipeline from YAML text and exports it with the named built-in profile.
func export(_ yaml: String, profile: String = "steady", brokers: String? = nil) throws -> String {
    let spec = try PipelineLoader.load(yaml: yaml, file: "test.yaml")
    let p = Profile.builtIn[profile]!.applying(spec.profiles.overrides[profile] ?? ProfileOverrides())
    return try FlinkSQLExport.script(
        for: spec, profile: p, options: FlinkExportOptions(brokers: brokers), fileText: yaml)
}

/// The errors an export reports (empty when it succeeds).
func exportErrors(_ yaml: String) throws -> [PipelineError] {
    do {
        _ = try export(yaml)
        return []
    } catch let e as PipelineErrors {
        return e.errors
    }
}

/// A pipeline over a Kafka topic of orders with the given operators and sink (YAML fragments).
func ordersPipeline(operators: String, sink: String = "stdout: { format: json }", source: String? = nil) -> String {
    """
    name: t
    schema:
      order_id: int64
      shop: string
      customer: string
      amount: decimal(2)
      ts: timestamp
    source:
    \(source ?? """
      kafka: { brokers: "k1:9092,k2:9092", topics: [orders], group: g1, start_from: earliest }
      format: json
      event_time: { field: ts, max_disorder: 5s }
    """)
    operators:
    \(operators)
    sink:
      \(sink)
    """
}
