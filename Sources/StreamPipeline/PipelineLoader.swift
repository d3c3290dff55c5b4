import Foundation
import StreamCore
import Yams

/// Reads a pipeline file into a validated `PipelineSpec`, reporting every problem with its `file:line:column`.
public enum PipelineLoader {
    /// The rows of the `generator` source: `order_id, shop, customer, amount, ts`.
    public static let generatorSchema = Schema([
        Field("order_id", .int64), Field("shop", .string), Field("customer", .string),
        Field("amount", .decimal(scale: 2)), Field("ts", .timestamp),
    ])

    /// Loads and validates; collects every error of the file before throwing.
    public static func load(path: String) throws(PipelineErrors) -> PipelineSpec {
        let text = try readText(path, kind: "pipeline")
        return try load(yaml: text, file: path)
    }

    /// Loads and validates YAML text; `file` names it in messages and anchors relative profile files.
    public static func load(yaml: String, file: String) throws(PipelineErrors) -> PipelineSpec {
        let checker = Checker(file: file, text: yaml)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw PipelineErrors([yamlError(error, file: file)])
        } catch {
            throw PipelineErrors([PipelineError(file: file, line: 0, column: 0, message: "invalid YAML: \(error)")])
        }
        guard let root, !checker.isNull(root) else {
            throw PipelineErrors([
                PipelineError(
                    file: file, line: 1, column: 1, message: "the pipeline file is empty",
                    help: "start from one of the files in examples/")
            ])
        }
        let reader = SpecReader(
            checker: checker,
            profileNames: ProfileLoader.availableNames(
                searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: file)))
        let spec = reader.read(root)
        let errors = checker.sortedErrors
        guard errors.isEmpty, let spec else { throw PipelineErrors(errors) }
        return spec
    }

    static func yamlError(_ error: YamlError, file: String) -> PipelineError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let help = context.map { "\($0.text) at \($0.mark.line):\($0.mark.column)" }
            return PipelineError(
                file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)",
                help: help)
        default:
            return PipelineError(file: file, line: 0, column: 0, message: "invalid YAML: \(error)")
        }
    }
}

/// Reads one pipeline document. Parts that fail still let the rest be checked, so every error is found.
final class SpecReader {
    let checker: Checker
    let profileNames: [String]
    var file: String { checker.file }

    static let topKeys = ["name", "schema", "source", "operators", "sink", "state", "checkpoints", "profiles"]

    init(checker: Checker, profileNames: [String]) {
        self.checker = checker
        self.profileNames = profileNames
    }

    func read(_ root: Node) -> PipelineSpec? {
        guard let top = checker.mapping(root, "pipeline", allowed: Self.topKeys, required: ["name", "source", "sink"])
        else { return nil }
        let name = top["name"].flatMap { checker.name($0, "name") }
        let sourceNode = top["source"]
        let isGenerator = sourceNode?.mapping?["generator"] != nil
        var schema: Schema?
        let flow = SchemaFlow()
        if let node = top["schema"] {
            schema = readSchema(node, generator: isGenerator, flow: flow)
        } else if isGenerator {
            schema = PipelineLoader.generatorSchema
        } else if sourceNode != nil {
            checker.report(
                root, "missing required key `schema` in `pipeline`",
                help: "declare the input fields, e.g. `schema: { order_id: int64, ts: timestamp }`")
        }
        if let schema { flow.schema = schema }
        let source = sourceNode.flatMap { readSource($0, flow: flow, pipelineName: name ?? "") }
        var operators: [OperatorSpec] = []
        var sourceWithTime = source
        if let node = top["operators"] {
            operators = readOperators(node, flow: flow, source: &sourceWithTime)
        }
        let sink = top["sink"].flatMap { readSink($0, flow: flow) }
        let state = top["state"].flatMap(readState) ?? StateSpec()
        let checkpoints = top["checkpoints"].flatMap(readCheckpoints) ?? CheckpointSpec()
        let ids = ["source", "sink"] + operators.map(\.id)
        let profiles = top["profiles"].flatMap { readProfiles($0, operatorIds: ids) } ?? ProfilesSpec()
        guard let name, let schema, let sourceWithTime, let sink else { return nil }
        return PipelineSpec(
            name: name, schema: schema, source: sourceWithTime, operators: operators, sink: sink, state: state,
            checkpoints: checkpoints, profiles: profiles, file: file)
    }

    // MARK: Schema

    static let typeHelp =
        "field types: `int64`, `double`, `bool`, `string`, `timestamp`, `decimal`, `decimal(N)`; "
        + "append `?` for a nullable field"

    /// The declared schema, or nil when it has errors; `flow` gets the good fields either way.
    func readSchema(_ node: Node, generator: Bool, flow: SchemaFlow) -> Schema? {
        var fields: [Field] = []
        defer { flow.schema = Schema(fields) }
        guard let pairs = checker.pairs(node, "schema") else { return nil }
        if pairs.isEmpty {
            checker.report(node, "`schema` declares no fields", help: "list fields as `name: type`")
            return nil
        }
        var ok = true
        for (name, keyNode, value) in pairs {
            guard checkIdentifier(name, keyNode, what: "field name"), let field = readFieldType(name, value) else {
                flow.doubtful.insert(name)
                ok = false
                continue
            }
            if generator {
                guard let produced = PipelineLoader.generatorSchema.field(named: name) else {
                    checker.report(
                        keyNode, "the generator source has no field `\(name)`",
                        help: Suggest.help(
                            name, in: PipelineLoader.generatorSchema.fields.map(\.name), listing: "generator fields"))
                    ok = false
                    flow.doubtful.insert(name)
                    continue
                }
                if produced.type != field.type {
                    checker.report(
                        value, "the generator's field `\(name)` is \(produced.type), not \(field.type)",
                        help: "declare it as `\(produced.type)`")
                    ok = false
                    flow.doubtful.insert(name)
                    continue
                }
            }
            fields.append(field)
        }
        return ok ? Schema(fields) : nil
    }

    func readFieldType(_ name: String, _ value: Node) -> Field? {
        var typeNode = value
        var nullable = false
        if value.mapping != nil {
            guard
                let entries = checker.mapping(
                    value, "schema.\(name)", allowed: ["type", "nullable"], required: ["type"]),
                let t = entries["type"]
            else { return nil }
            typeNode = t
            if let n = entries["nullable"] {
                guard let b = checker.bool(n, "schema.\(name).nullable") else { return nil }
                nullable = b
            }
        }
        guard var text = checker.string(typeNode, "schema.\(name)") else { return nil }
        if text.hasSuffix("?") {
            nullable = true
            text.removeLast()
        }
        guard let type = FieldType(name: text.trimmingCharacters(in: .whitespaces)) else {
            let near = Suggest.didYouMean(text, in: FieldType.allNames)
            checker.report(typeNode, "unknown field type `\(text)` for `\(name)`", help: near ?? Self.typeHelp)
            return nil
        }
        return Field(name, type, nullable: nullable)
    }

    @discardableResult
    func checkIdentifier(_ name: String, _ node: Node, what: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        let ok =
            !scalars.isEmpty
            && scalars.allSatisfy {
                $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
            }
            && !("0"..."9").contains(scalars[0])
        if !ok {
            checker.report(
                node, "\(what) `\(name)` is not an identifier",
                help: "use letters, digits and `_`, starting with a letter or `_`")
        }
        return ok
    }

    /// Reports a field that the schema at this point does not declare.
    func unknownField(_ name: String, at location: SourceLocation, in context: String, flow: SchemaFlow) {
        let names = flow.schema.fields.map(\.name)
        checker.report(
            line: location.line, column: location.column, "unknown field `\(name)` in \(context)",
            help: Suggest.help(name, in: names, listing: "fields here"))
    }
}

/// The schema as it flows through the operators, and the key the rows are partitioned by.
final class SchemaFlow {
    var schema = Schema([])
    /// Declared fields whose declaration had an error: not reported again where they are used.
    var doubtful: Set<String> = []
    var key: [String]?
    /// Where the current key was set, for the graph and messages.
    var keyOperator: String?

    func has(_ field: String) -> Bool { schema.index(of: field) != nil || doubtful.contains(field) }

    func type(of field: String) -> FieldType? { schema.field(named: field)?.type }

    /// A Kafka source without an event-time field gives each row its message timestamp as `kafka_timestamp`.
    func addKafkaTimestamp() {
        guard schema.index(of: "kafka_timestamp") == nil else { return }
        schema = Schema(schema.fields + [Field("kafka_timestamp", .timestamp, nullable: true)])
    }
}

/// The text of a pipeline or profile file, or a positionless error naming what could not be read.
func readText(_ path: String, kind: String) throws(PipelineErrors) -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw PipelineErrors([
            PipelineError(
                file: path, line: 0, column: 0,
                message: "cannot read the \(kind) file: \(error.localizedDescription)",
                help: "check the path; it is taken relative to the current directory")
        ])
    }
}
