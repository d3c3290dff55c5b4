/// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every line must be a
/// `# HELP`, a `# TYPE`, another comment or a sample; a family's TYPE comes once, before its samples, which
/// stand together; names and label names follow the format's grammar; label values use only its escapes
/// (`\\`, `\"`, `\n`); no series appears twice; the text ends with a newline.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var problem: String
        var description: String { "line \(line): \(problem): \(text)" }
    }

    static let types: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]

    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else {
            throw Malformed(line: 0, text: String(text.suffix(40)), problem: "the text does not end with a newline")
        }
        var finished = Set<String>()  // families whose samples ended (another family's came after)
        var current: String?
        var series = Set<String>()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let line = String(line)
            func bad(_ problem: String) -> Malformed { Malformed(line: n + 1, text: line, problem: problem) }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts[0] == "#", parts[1] == "TYPE" || parts[1] == "HELP" else { continue }
                let name = parts[2]
                guard Self.isMetricName(name) else { throw bad("not a metric name: `\(name)`") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, Self.types.contains(parts[3]) else { throw bad("not a metric type") }
                    guard types[name] == nil else { throw bad("a second TYPE for \(name)") }
                    guard !finished.contains(name), current != name else { throw bad("TYPE after samples of \(name)") }
                    types[name] = parts[3]
                } else {
                    guard help[name] == nil else { throw bad("a second HELP for \(name)") }
                    help[name] = parts.count == 4 ? parts[3] : ""
                }
                continue
            }
            guard let sample = Self.sample(line) else { throw bad("not a sample line") }
            let family = family(of: sample.name)
            if family != current {
                if let current { finished.insert(current) }
                guard !finished.contains(family) else { throw bad("samples of \(family) are not together") }
                current = family
            }
            let key = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",") + "}"
            guard series.insert(key).inserted else { throw bad("series \(key) appears twice") }
            samples.append(sample)
        }
    }

    /// The family a sample belongs to: its name, or the histogram / summary its suffix belongs to.
    func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let t = types[base], t == "histogram" || t == "summary" { return base }
        }
        return name
    }

    /// Values of the samples named `name` whose labels include `match`.
    func values(_ name: String, where match: [String: String] = [:]) -> [Double] {
        samples.filter { s in s.name == name && match.allSatisfy { s.labels[$0.key] == $0.value } }.map(\.value)
    }

    /// The one value of `name` with `match`; nil when there is none or more than one.
    func value(_ name: String, where match: [String: String] = [:]) -> Double? {
        let v = values(name, where: match)
        return v.count == 1 ? v[0] : nil
    }

    /// Samples of `name`.
    func series(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.first, first == "_" || first == ":" || (first.isASCII && first.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || $0 == ":" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.first, first == "_" || (first.isASCII && first.isLetter), !s.hasPrefix("__") else {
            return false
        }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// `name{a="b",c="d"} value [timestamp]`.
    static func sample(_ line: String) -> Sample? {
        let chars = Array(line)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " {
            name.append(chars[i])
            i += 1
        }
        guard isMetricName(name) else { return nil }
        var labels: [String: String] = [:]
        if i < chars.count, chars[i] == "{" {
            i += 1
            while i < chars.count, chars[i] != "}" {
                var key = ""
                while i < chars.count, chars[i] != "=" {
                    key.append(chars[i])
                    i += 1
                }
                guard isLabelName(key), labels[key] == nil, i + 1 < chars.count, chars[i + 1] == "\"" else { return nil }
                i += 2
                var value = ""
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\" {
                        guard i + 1 < chars.count else { return nil }
                        switch chars[i + 1] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: return nil
                        }
                        i += 2
                    } else {
                        value.append(chars[i])
                        i += 1
                    }
                }
                guard i < chars.count else { return nil }
                i += 1  // the closing quote
                labels[key] = value
                if i < chars.count, chars[i] == "," { i += 1 } else if i < chars.count, chars[i] != "}" { return nil }
            }
            guard i < chars.count else { return nil }
            i += 1  // }
        }
        guard i < chars.count, chars[i] == " " else { return nil }
        let rest = String(chars[(i + 1)...]).split(separator: " ", omittingEmptySubsequences: false)
        guard (1...2).contains(rest.count), let value = parseValue(String(rest[0])) else { return nil }
        if rest.count == 2, Int64(rest[1]) == nil { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ s: String) -> Double? {
        switch s {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard !s.isEmpty, s.allSatisfy({ "0123456789.eE+-".contains($0) }) else { return nil }
            return Double(s)
        }
    }
}
