import Foundation
import StreamCore
import Yams

extension SpecReader {
    static let aggregateHelp =
        "write `function(field)`: "
        + AggregateFunction.allCases.map { $0 == .count ? "`count()`" : "`\($0.rawValue)(field)`" }
        .joined(separator: ", ")

    /// `name: fn(field)` pairs, with the output fields they add.
    func readAggregates(_ node: Node, path: String, flow: SchemaFlow) -> (specs: [AggregateSpec], fields: [Field])? {
        guard let pairs = checker.pairs(node, path) else { return nil }
        if pairs.isEmpty {
            checker.report(
                node, "`\(path)` lists no aggregates", help: "e.g. `{ orders: count(), revenue: sum(amount) }`")
            return nil
        }
        let reserved = Set((flow.key ?? []) + ["window_start", "window_end"])
        var specs: [AggregateSpec] = []
        var fields: [Field] = []
        var ok = true
        for (name, keyNode, value) in pairs {
            checkIdentifier(name, keyNode, what: "aggregate name")
            if reserved.contains(name) {
                checker.report(
                    keyNode, "aggregate `\(name)` has the name of an output field it would replace",
                    help: "the output already holds the key fields, `window_start` and `window_end`; rename it")
                ok = false
            }
            guard let parsed = readAggregate(name, value, flow: flow) else {
                ok = false
                continue
            }
            specs.append(parsed.spec)
            fields.append(Field(name, parsed.type, nullable: parsed.spec.function != .count))
        }
        return ok ? (specs, fields) : nil
    }

    func readAggregate(_ name: String, _ node: Node, flow: SchemaFlow) -> (spec: AggregateSpec, type: FieldType)? {
        guard let text = checker.string(node, "aggregate `\(name)`") else { return nil }
        let chars = Array(text)
        guard let open = chars.firstIndex(of: "("), chars.last == ")" else {
            checker.report(node, "invalid aggregate `\(text)` for `\(name)`", help: Self.aggregateHelp)
            return nil
        }
        let fnName = String(chars[..<open]).trimmingCharacters(in: .whitespaces)
        guard let function = AggregateFunction(rawValue: fnName) else {
            checker.report(
                node, "unknown aggregate function `\(fnName)` in `\(name)`",
                help: Suggest.didYouMean(fnName, in: AggregateFunction.allCases.map(\.rawValue))
                    ?? Self.aggregateHelp)
            return nil
        }
        let inner = String(chars[(open + 1)..<(chars.count - 1)])
        let field = inner.trimmingCharacters(in: .whitespaces)
        let fieldOffset = open + 1 + (inner.count - inner.drop { $0 == " " }.count)
        let location = checker.location(in: node, offset: fieldOffset)
        if field.isEmpty || field == "*" {
            guard function == .count else {
                checker.report(node, "`\(fnName)` needs a field in `\(name)`", help: "e.g. `\(fnName)(amount)`")
                return nil
            }
            return (AggregateSpec(name: name, function: .count, field: nil, at: checker.location(node)), .int64)
        }
        guard flow.has(field) else {
            unknownField(field, at: location, in: "aggregate `\(name)`", flow: flow)
            return nil
        }
        let spec = AggregateSpec(name: name, function: function, field: field, at: checker.location(node))
        guard let type = flow.type(of: field) else { return (spec, .double) }
        switch function {
        case .count:
            return (spec, .int64)
        case .sum, .avg:
            guard type.isNumeric else {
                checker.report(
                    line: location.line, column: location.column,
                    "`\(fnName)` needs a numeric field, but `\(field)` is \(type)",
                    help: "numeric types are `int64`, `double` and `decimal`")
                return nil
            }
            return (spec, function == .avg ? .double : type)
        case .min, .max:
            guard type != .bool else {
                checker.report(
                    line: location.line, column: location.column,
                    "`\(fnName)` needs an ordered field, but `\(field)` is bool")
                return nil
            }
            return (spec, type)
        case .first, .last:
            return (spec, type)
        }
    }
}
