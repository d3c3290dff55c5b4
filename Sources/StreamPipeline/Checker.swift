import StreamCore
import Yams

/// Collects every problem of one file while reading its YAML nodes; each read reports, then returns nil.
final class Checker {
    let file: String
    private let lines: [Substring]
    private(set) var errors: [PipelineError] = []

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func report(line: Int, column: Int, _ message: String, help: String? = nil) {
        errors.append(PipelineError(file: file, line: line, column: column, message: message, help: help))
    }

    func report(_ mark: Mark?, _ message: String, help: String? = nil) {
        report(line: mark?.line ?? 0, column: mark?.column ?? 0, message, help: help)
    }

    func report(_ node: Node, _ message: String, help: String? = nil) { report(node.mark, message, help: help) }

    /// Errors in file order; several at one place keep the order they were found in.
    var sortedErrors: [PipelineError] {
        errors.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
    }

    // MARK: Positions

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    /// The file position of character `offset` of a scalar's text.
    func location(in node: Node, offset: Int) -> SourceLocation {
        guard let scalar = node.scalar, let mark = scalar.mark else { return location(node) }
        let text = Array(scalar.string.unicodeScalars)
        let before = text.prefix(max(0, min(offset, text.count)))
        switch scalar.style {
        case .literal, .folded:
            // Block scalars start on the line after the indicator; each text line sits at the block's indent.
            let lineIndex = before.filter { $0 == "\n" }.count
            let lastBreak = before.lastIndex(of: "\n").map { $0 + 1 } ?? 0
            let fileLine = mark.line + 1 + lineIndex
            let indent = fileLine - 1 < lines.count ? lines[fileLine - 1].prefix { $0 == " " }.count : 0
            return SourceLocation(line: fileLine, column: indent + (before.count - lastBreak) + 1)
        case .singleQuoted, .doubleQuoted:
            return SourceLocation(line: mark.line, column: mark.column + 1 + before.count)
        default:
            return SourceLocation(line: mark.line, column: mark.column + before.count)
        }
    }

    // MARK: Mappings

    /// Opens `node` as a mapping, reporting unknown (with the nearest name), duplicate and missing keys.
    func mapping(_ node: Node, _ path: String, allowed: [String], required: [String] = []) -> Entries? {
        guard let map = node.mapping else {
            report(node, "expected a mapping\(path.isEmpty ? "" : " for `\(path)`"), found \(describe(node))")
            return nil
        }
        var entries = Entries(node: node, path: path)
        let within = path.isEmpty ? "" : " in `\(path)`"
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string else {
                report(keyNode, "expected a name as key in `\(path)`, found \(describe(keyNode))")
                continue
            }
            if entries.values[key] != nil {
                report(keyNode, "duplicate key `\(key)`\(within)", help: "remove one of the two")
                continue
            }
            if !allowed.contains(key) {
                report(
                    keyNode, "unknown key `\(key)`\(within)",
                    help: Suggest.help(key, in: allowed, listing: "valid keys"))
                continue
            }
            entries.values[key] = value
            entries.keys[key] = keyNode
        }
        for key in required where entries.values[key] == nil {
            report(node, "missing required key `\(key)`\(within)")
        }
        return entries
    }

    /// A mapping whose keys are names chosen by the user (schema fields, map outputs, properties).
    func pairs(_ node: Node, _ path: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard let map = node.mapping else {
            report(node, "expected a mapping for `\(path)`, found \(describe(node))")
            return nil
        }
        var seen: Set<String> = []
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string, !isNull(keyNode) else {
                report(keyNode, "expected a name as key in `\(path)`, found \(describe(keyNode))")
                continue
            }
            guard seen.insert(key).inserted else {
                report(keyNode, "duplicate key `\(key)` in `\(path)`", help: "remove one of the two")
                continue
            }
            result.append((key, keyNode, value))
        }
        return result
    }

    // MARK: Scalars

    func isNull(_ node: Node) -> Bool {
        guard let s = node.scalar, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return isNull(node) ? "nothing" : "`\(s.string)`"
        }
    }

    func string(_ node: Node, _ path: String) -> String? {
        guard let s = node.scalar, !isNull(node) else {
            report(node, "expected a string for `\(path)`, found \(describe(node))")
            return nil
        }
        return s.string
    }

    /// A non-empty string naming something (a path, a topic, a field).
    func name(_ node: Node, _ path: String) -> String? {
        guard let s = string(node, path) else { return nil }
        if s.isEmpty { report(node, "`\(path)` must not be empty"); return nil }
        return s
    }

    /// The largest count any key accepts unless it names its own bound: far above any real use, far below
    /// what overflows the arithmetic done with it.
    static let maxCount = 1_000_000_000_000

    func int(_ node: Node, _ path: String, min: Int? = nil, max: Int = Checker.maxCount) -> Int? {
        guard let s = node.scalar, !isNull(node), let v = Int(s.string.replacingUnderscores()) else {
            report(node, "expected an integer for `\(path)`, found \(describe(node))")
            return nil
        }
        if let min, v < min {
            report(node, "`\(path)` must be at least \(min), found `\(v)`")
            return nil
        }
        if v > max {
            report(node, "`\(path)` must be at most \(max.grouped), found `\(s.string)`")
            return nil
        }
        return v
    }

    func double(_ node: Node, _ path: String, min: Double? = nil) -> Double? {
        guard let s = node.scalar, !isNull(node), let v = Double(s.string.replacingUnderscores()), v.isFinite else {
            report(node, "expected a number for `\(path)`, found \(describe(node))")
            return nil
        }
        if let min, v < min {
            report(node, "`\(path)` must be at least \(min), found `\(s.string)`")
            return nil
        }
        return v
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        switch node.scalar?.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            report(node, "expected `true` or `false` for `\(path)`, found \(describe(node))")
            return nil
        }
    }

    /// The longest duration any key accepts (100 years): event times plus it stay far from overflowing.
    static let maxDurationMs: Int64 = 36_500 * 86_400_000

    /// A duration; `positive` rejects zero.
    func duration(_ node: Node, _ path: String, positive: Bool = false) -> Int64? {
        guard let s = node.scalar, !isNull(node), let ms = Durations.parseMs(s.string) else {
            report(
                node, "invalid duration \(describe(node)) for `\(path)`",
                help: "write a whole number followed by a unit: \(Durations.acceptedUnits)")
            return nil
        }
        if positive, ms == 0 {
            report(node, "`\(path)` must be longer than zero")
            return nil
        }
        if ms > Self.maxDurationMs {
            report(node, "`\(path)` must be at most 36500d (100 years), found `\(s.string)`")
            return nil
        }
        return ms
    }

    /// The largest size any key accepts unless it names its own bound (1 PiB).
    static let maxSizeBytes: Int64 = 1 << 50

    func size(
        _ node: Node, _ path: String, positive: Bool = false, min: Int64? = nil, max: Int64 = Checker.maxSizeBytes
    ) -> Int64? {
        guard let s = node.scalar, !isNull(node), let bytes = Sizes.parseBytes(s.string) else {
            report(node, "invalid size \(describe(node)) for `\(path)`", help: "accepted units: \(Sizes.acceptedUnits)")
            return nil
        }
        if positive, bytes == 0 {
            report(node, "`\(path)` must be larger than zero")
            return nil
        }
        if let min, bytes < min {
            report(node, "`\(path)` must be at least \(Sizes.format(min)), found `\(s.string)`")
            return nil
        }
        if bytes > max {
            report(node, "`\(path)` must be at most \(Sizes.format(max)), found `\(s.string)`")
            return nil
        }
        return bytes
    }

    /// One of a fixed set of words.
    func choice<T>(_ node: Node, _ path: String, _ options: KeyValuePairs<String, T>) -> T? {
        let names = options.map(\.key)
        guard let s = node.scalar, !isNull(node) else {
            report(
                node,
                "expected one of \(names.map { "`\($0)`" }.joined(separator: ", ")) for `\(path)`, "
                    + "found \(describe(node))")
            return nil
        }
        if let hit = options.first(where: { $0.key == s.string }) { return hit.value }
        report(
            node, "unknown value `\(s.string)` for `\(path)`",
            help: Suggest.help(s.string, in: names, listing: "one of"))
        return nil
    }

    /// A list of non-empty strings; a single string counts as a list of one.
    func stringList(_ node: Node, _ path: String, nonEmpty: Bool = true) -> [(String, Node)]? {
        let items: [Node]
        switch node {
        case .sequence(let seq): items = Array(seq)
        case .scalar where !isNull(node): items = [node]
        default:
            report(node, "expected a list of strings for `\(path)`, found \(describe(node))")
            return nil
        }
        if nonEmpty, items.isEmpty {
            report(node, "`\(path)` must list at least one entry")
            return nil
        }
        var result: [(String, Node)] = []
        for item in items {
            if let s = name(item, path) { result.append((s, item)) }
        }
        return result.count == items.count ? result : nil
    }

    /// `key: value` pairs passed on untouched (client properties); values may be any scalar.
    func properties(_ node: Node, _ path: String) -> [String: String]? {
        guard let pairs = pairs(node, path) else { return nil }
        var result: [String: String] = [:]
        for (key, _, value) in pairs {
            if let v = string(value, "\(path).\(key)") { result[key] = v }
        }
        return result
    }

    /// Epoch milliseconds from an RFC 3339 timestamp or an integer.
    func timestamp(_ node: Node, _ path: String) -> Int64? {
        guard let s = node.scalar, !isNull(node), let ms = Timestamps.parseMs(s.string) else {
            report(
                node, "invalid timestamp \(describe(node)) for `\(path)`",
                help: "write RFC 3339 (`2026-11-27T00:00:00Z`) or epoch milliseconds (`1795737600000`)")
            return nil
        }
        return ms
    }
}

/// The accepted keys of one mapping after checking.
struct Entries {
    let node: Node
    let path: String
    var values: [String: Node] = [:]
    var keys: [String: Node] = [:]

    init(node: Node, path: String) {
        self.node = node
        self.path = path
    }

    subscript(_ key: String) -> Node? { values[key] }

    /// `path.key`, for messages.
    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

extension Int {
    /// `10000000` → `10,000,000`, for bounds in messages.
    var grouped: String {
        let digits = String(self.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return self < 0 ? "-" + out : out
    }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
