import Foundation
import StreamCore
import StreamPipeline

/// What `streamctl export flink-sql` is told besides the pipeline and its profile.
public struct FlinkExportOptions: Sendable {
    /// Bootstrap servers to write where the pipeline says `brokers: embedded` (streamctl's in-process broker,
    /// which a Flink cluster cannot reach).
    public var brokers: String?

    public init(brokers: String? = nil) { self.brokers = brokers }
}

/// Turns a validated pipeline and one of its profiles into one Flink SQL script: `SET` statements for the
/// profile's knobs, `CREATE TABLE` for source and sink, one view per operator (window table-valued functions
/// for windows) and the `INSERT INTO`.
///
/// What Flink cannot do the same way is an error naming the operator with its `file:line:column`, or a
/// `-- differs:` comment in the script saying how Flink's job differs; it is never silently a different job.
public enum FlinkSQLExport {
    /// The script, or every problem found (all of them, in file order). `fileText` is the pipeline file's text,
    /// for the positions of source and sink settings; nil reads `spec.file`.
    public static func script(
        for spec: PipelineSpec, profile: Profile, options: FlinkExportOptions = FlinkExportOptions(),
        fileText: String? = nil
    ) throws(PipelineErrors) -> String {
        let text = fileText ?? (try? String(contentsOfFile: spec.file, encoding: .utf8)) ?? ""
        let export = FlinkScriptBuilder(spec: spec, profile: profile, options: options, fileText: text)
        let script = export.build()
        let errors = export.errors.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        guard errors.isEmpty else { throw PipelineErrors(errors) }
        return script
    }
}

/// Builds the script part by part, collecting errors and the differences to state as comments.
final class FlinkScriptBuilder {
    let spec: PipelineSpec
    let profile: Profile
    let options: FlinkExportOptions
    let lines: [Substring]
    var errors: [PipelineError] = []
    /// `SET` lines, in order.
    var settings: [(key: String, value: String, note: String?)] = []

    init(spec: PipelineSpec, profile: Profile, options: FlinkExportOptions, fileText: String) {
        self.spec = spec
        self.profile = profile
        self.options = options
        self.lines = fileText.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func fail(_ at: SourceLocation, _ message: String, help: String? = nil) {
        errors.append(
            PipelineError(file: spec.file, line: at.line, column: at.column, message: message, help: help))
    }

    /// Where `key:` is first written after `section:` at the top level, for parts the spec keeps no position
    /// of (source and sink settings); the section itself when the key is not written, `0:0` without a file.
    func locate(_ key: String, in section: String) -> SourceLocation {
        guard let start = lines.firstIndex(where: { $0.hasPrefix(section + ":") }) else { return .unknown }
        var i = start + 1
        while i < lines.count, lines[i].isEmpty || lines[i].first == " " || lines[i].first == "#" {
            if let r = lines[i].range(of: key + ":") {
                let before = lines[i][..<r.lowerBound]
                if before.allSatisfy({ $0 == " " || $0 == "{" || $0 == "," || $0 == "-" }) || before.hasSuffix(" ") {
                    return SourceLocation(
                        line: i + 1, column: lines[i].distance(from: lines[i].startIndex, to: r.lowerBound) + 1)
                }
            }
            i += 1
        }
        return SourceLocation(line: start + 1, column: 1)
    }

    /// An expression of the pipeline in Flink SQL, or nil after reporting where it cannot be translated.
    func expression(_ e: ExpressionText, schema: Schema, in operatorId: String) -> String? {
        do {
            let tree = try ExpressionTree.parse(e.text, schema: schema)
            return try FlinkExpression.sql(tree)
        } catch let error as UntranslatableExpression {
            let at = SourceLocation(line: e.location.line, column: e.location.column + error.offset)
            fail(at, "operator `\(operatorId)`: \(error.message)", help: error.help)
        } catch {
            fail(e.location, "operator `\(operatorId)`: \(error)")
        }
        return nil
    }

    func build() -> String {
        addSettings()
        let source = sourceTable()
        let query = FlinkQueryBuilder(export: self).build()
        let sink = sinkTable(schema: query.schema, keyed: query.updating)
        var out = """
            -- Flink SQL for pipeline `\(spec.name)` (\(spec.file)), profile `\(profile.name)`.
            -- Exported by `streamctl export flink-sql`; run it with the SQL client: sql-client.sh -f FILE.
            -- Another profile: STOP JOB '<job id>' WITH SAVEPOINT; then run the script exported with
            -- `--profile OTHER` after SET 'execution.state-recovery.path' = '<savepoint path>';


            """
        for s in settings {
            if let note = s.note { out += "-- \(note)\n" }
            if !s.key.isEmpty { out += "SET \(FlinkSQL.quote(s.key)) = \(FlinkSQL.quote(s.value));\n" }
        }
        out += "\n" + source + "\n" + query.views.map { $0 + "\n" }.joined() + sink.ddl + "\n"
        let columns =
            query.schema.fields.map { FlinkSQL.name($0.name) }
            + sink.partitions.map { "\($0.sql) AS \(FlinkSQL.name($0.name))" }
        out += "INSERT INTO \(FlinkSQL.name("sink"))\n"
        out += "SELECT \(columns.joined(separator: ", "))\nFROM \(FlinkSQL.name(query.last));\n"
        return out
    }

    func set(_ key: String, _ value: String, note: String? = nil) { settings.append((key, value, note)) }

    /// A comment among the `SET` lines.
    func comment(_ note: String) { settings.append(("", "", note)) }
}
