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

    /// Loads a pipeline and resolves its profile (`profile`, or the pipeline's `profiles.initial`), reporting
    /// the errors of both files at once: a broken profile file shows up beside the pipeline's own errors.
    public static func loadResolved(path: String, profile: String?) throws(PipelineErrors) -> (PipelineSpec, Profile) {
        let searchDirectories = ProfileLoader.defaultSearchDirectories(pipelineFile: path)
        var spec: PipelineSpec?
        var errors: [PipelineError] = []
        var profiles = ProfilesSpec()
        do throws(PipelineErrors) {
            let text = try readText(path, kind: "pipeline")
            let loaded = try load(yaml: text, file: path, profilesRead: &profiles)
            spec = loaded
            profiles = loaded.profiles
        } catch {
            errors = error.errors
        }
        let name = profile ?? profiles.initial
        var resolved: Profile?
        do throws(PipelineErrors) {
            if let spec {
                resolved = try ProfileLoader.resolve(name: name, spec: spec, searchDirectories: searchDirectories)
            } else if let file = ProfileLoader.profileFile(
                name: name, files: profiles.files, pipelineFile: path, searchDirectories: searchDirectories)
            {
                _ = try ProfileLoader.load(path: file)
            }
        } catch {
            errors += error.errors
        }
        guard errors.isEmpty, let spec, let resolved else { throw PipelineErrors(errors) }
        return (spec, resolved)
    }

    /// Loads and validates YAML text; `file` names it in messages and anchors relative profile files.
    public static func load(yaml: String, file: String) throws(PipelineErrors) -> PipelineSpec {
        var profiles = ProfilesSpec()
        return try load(yaml: yaml, file: file, profilesRead: &profiles)
    }

    /// As `load(yaml:file:)`; `profilesRead` gets the `profiles` section even when other parts have errors.
    static func load(yaml: String, file: String, profilesRead: inout ProfilesSpec) throws(PipelineErrors)
        -> PipelineSpec
    {
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
        profilesRead = reader.profilesRead
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
    /// `source.decimal_rounding: strict`, applied to the schema's decimal fields once the source is read.
    var strictDecimals = false
    /// The `profiles` section as read, kept even when the pipeline has errors elsewhere.
    var profilesRead = ProfilesSpec()

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
        if strictDecimals {
            schema = schema.map(Self.strictDecimals)
            flow.schema = Self.strictDecimals(flow.schema)
        }
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
        profilesRead = profiles
        guard let name, let schema, let sourceWithTime, let sink else { return nil }
        return PipelineSpec(
            name: name, schema: schema, source: sourceWithTime, operators: operators, sink: sink, state: state,
            checkpoints: checkpoints, profiles: profiles, file: file)
    }

    // MARK: Schema

    static func strictDecimals(_ schema: Schema) -> Schema {
        Schema(
            schema.fields.map { f in
                var f = f
                if case .decimal = f.type { f.strictDecimal = true }
                return f
            })
    }

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
        var unitNode: Node?
        if value.mapping != nil {
            guard
                let entries = checker.mapping(
                    value, "schema.\(name)", allowed: ["type", "nullable", "unit"], required: ["type"]),
                let t = entries["type"]
            else { return nil }
            typeNode = t
            if let n = entries["nullable"] {
                guard let b = checker.bool(n, "schema.\(name).nullable") else { return nil }
                nullable = b
            }
            unitNode = entries["unit"]
        }
        guard var text = checker.string(typeNode, "schema.\(name)") else { return nil }
        if text.hasSuffix("?") {
            nullable = true
            text.removeLast()
        }
        let typeName = text.trimmingCharacters(in: .whitespaces)
        // Only the documented spellings: `int` could as well mean 32 bits, `float64` a binary float.
        guard let type = FieldType(name: typeName), Self.isCanonicalTypeName(typeName) else {
            let alias = FieldType(name: typeName).map { "write `\($0.description)`" }
            let near = alias ?? Suggest.didYouMean(text, in: FieldType.allNames)
            checker.report(typeNode, "unknown field type `\(text)` for `\(name)`", help: near ?? Self.typeHelp)
            return nil
        }
        var field = Field(name, type, nullable: nullable)
        if let unitNode {
            let units = TimestampUnit.allCases.map(\.rawValue)
            guard type == .timestamp else {
                checker.report(unitNode, "`unit` applies only to timestamp fields; `\(name)` is \(type)")
                return nil
            }
            guard let text = unitNode.scalar?.string, let unit = TimestampUnit(rawValue: text) else {
                checker.report(
                    unitNode, "unknown timestamp unit \(checker.describe(unitNode)) for `schema.\(name).unit`",
                    help: "epoch numbers count one of: \(units.map { "`\($0)`" }.joined(separator: ", "))")
                return nil
            }
            field.timeUnit = unit
        }
        return field
    }

    static func isCanonicalTypeName(_ name: String) -> Bool {
        FieldType.allNames.contains(name) || name.hasPrefix("decimal(")
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
    func failure(_ message: String, _ help: String) -> PipelineErrors {
        PipelineErrors([PipelineError(file: path, line: 0, column: 0, message: message, help: help)])
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw failure("the \(kind) file is a directory", "name a YAML file, e.g. `\(path)/orders.yaml`")
    }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
        throw failure(
            "cannot read the \(kind) file: \(reason)", "check the path; it is taken relative to the current directory")
    }
    // YAML is UTF-8 text; a NUL byte or invalid UTF-8 means a binary file was named.
    guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
        throw failure("the \(kind) file is not a YAML text file (it holds binary data)", "name the YAML file")
    }
    return text
}
