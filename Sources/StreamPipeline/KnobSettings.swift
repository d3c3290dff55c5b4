import Foundation
import StreamCore
import Yams

/// Knob values given on the command line (`run --set KNOB=VALUE`, `profiles show --set`), read with the same
/// parsers and bounds as a profile file, so `--set checkpoint.interval=30s` means what `interval: 30s` does.
public struct KnobSettings: Sendable {
    var knobs = ProfileKnobs()
    /// The assignments as given, in order.
    public private(set) var assignments: [String] = []

    public init() {}

    public var isEmpty: Bool { assignments.isEmpty }

    /// The knobs set, by their names in `Profile.knobs`.
    public var setKnobs: Set<String> { knobs.setKnobs }

    /// `profile` with these values on top.
    public func apply(to profile: Profile) -> Profile { knobs.apply(to: profile) }

    /// Every knob `--set` accepts; `operator_parallelism.ID` sets one operator's parallelism.
    public static var knobNames: [String] {
        Profile(name: "x").knobs.map(\.name).map { $0 == "operator_parallelism" ? "operator_parallelism.ID" : $0 }
    }

    /// Reads `KNOB=VALUE` assignments; every bad one is an error naming it, with the accepted knobs or form.
    public static func parse(_ assignments: [String]) throws(PipelineErrors) -> KnobSettings {
        var errors: [PipelineError] = []
        var yaml = ""
        var seen: [String: String] = [:]
        for a in assignments {
            let place = "--set \(a)"
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                errors.append(
                    PipelineError(
                        file: place, line: 0, column: 0, message: "expected KNOB=VALUE",
                        help: "e.g. `--set checkpoint.interval=30s`; knobs: \(knobNames.joined(separator: ", "))"))
                continue
            }
            let knob = String(a[..<eq])
            let value = String(a[a.index(after: eq)...])
            let parts = knob.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let known = knobNames.filter { $0 != "operator_parallelism.ID" }
            let isOperator = parts.count == 2 && parts[0] == "operator_parallelism" && !parts[1].isEmpty
            guard known.contains(knob) || isOperator else {
                let near = Suggest.didYouMean(knob, in: known).map { "\($0) " } ?? ""
                errors.append(
                    PipelineError(
                        file: place, line: 0, column: 0, message: "unknown knob `\(knob)`",
                        help: "\(near)knobs: \(knobNames.joined(separator: ", "))"))
                continue
            }
            if let earlier = seen[knob] {
                errors.append(
                    PipelineError(
                        file: place, line: 0, column: 0, message: "`\(knob)` is already set by `--set \(earlier)`",
                        help: "give each knob once"))
                continue
            }
            seen[knob] = a
            // One YAML document of all assignments, each value a double-quoted scalar (no YAML syntax in it
            // takes effect), read by the profile file's reader: same units, bounds and messages.
            let quoted = quote(value)
            if parts.count == 2 {
                yaml += "\(parts[0]):\n  \(parts[1]): \(quoted)\n"
            } else {
                yaml += "\(knob): \(quoted)\n"
            }
        }
        guard errors.isEmpty else { throw PipelineErrors(errors) }
        var settings = KnobSettings()
        settings.assignments = assignments
        guard !yaml.isEmpty else { return settings }
        // Nested keys repeat (`checkpoint:` twice); merge them into one mapping each before reading.
        let merged = mergeSections(yaml)
        let checker = Checker(file: "--set", text: merged)
        guard let root = try? Yams.compose(yaml: merged) else {
            throw PipelineErrors([PipelineError(file: "--set", line: 0, column: 0, message: "cannot read the values")])
        }
        let knobs = ProfileKnobs.read(root, path: "", checker: checker, allowOff: true)
        guard let knobs, checker.errors.isEmpty else {
            // Name the assignment, not a position in the document built from them.
            let lines = merged.split(separator: "\n", omittingEmptySubsequences: false)
            throw PipelineErrors(
                checker.sortedErrors.map { e in
                    let knob = knobAt(line: e.line, in: lines)
                    let a = knob.flatMap { seen[$0] } ?? assignments.joined(separator: " ")
                    return PipelineError(file: "--set \(a)", line: 0, column: 0, message: e.message, help: e.help)
                })
        }
        settings.knobs = knobs
        return settings
    }

    private static func quote(_ v: String) -> String {
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 { out += String(format: "\\x%02x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// `a:\n  x: 1\na:\n  y: 2\n` → `a:\n  x: 1\n  y: 2\n` (sections in first-seen order).
    private static func mergeSections(_ yaml: String) -> String {
        var order: [String] = []
        var body: [String: [String]] = [:]
        var current: String?
        for line in yaml.split(separator: "\n") {
            if line.hasPrefix("  "), let c = current {
                body[c, default: []].append(String(line))
            } else {
                let key = String(line)
                current = key.hasSuffix(":") ? key : nil
                if body[key] == nil {
                    order.append(key)
                    body[key] = []
                }
            }
        }
        return order.map { ([$0] + body[$0]!).joined(separator: "\n") }.joined(separator: "\n") + "\n"
    }

    /// The knob the document line `line` (1-based) sets.
    private static func knobAt(line: Int, in lines: [Substring]) -> String? {
        guard line >= 1, line <= lines.count else { return nil }
        let text = lines[line - 1]
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let key = text[..<colon].trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("  ") else { return key }
        let section = lines[..<(line - 1)].last { !$0.hasPrefix("  ") }.map { String($0.dropLast()) }
        return section.map { "\($0).\(key)" } ?? key
    }
}
