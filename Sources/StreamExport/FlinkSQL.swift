import StreamCore

/// Spelling of names, literals, types, durations and time patterns in Flink SQL.
enum FlinkSQL {
    /// A backquoted identifier (backquotes inside doubled).
    static func name(_ s: String) -> String { "`" + s.replacingOccurrences(of: "`", with: "``") + "`" }

    /// A single-quoted string literal.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Flink's type for a schema type. Decimals keep their scale in 18 digits, the most an `Int64` scaled
    /// integer holds; timestamps are instants (epoch milliseconds, UTC), which is `TIMESTAMP_LTZ(3)`.
    static func type(_ t: FieldType) -> String {
        switch t {
        case .int64: "BIGINT"
        case .double: "DOUBLE"
        case .bool: "BOOLEAN"
        case .string: "STRING"
        case .timestamp: "TIMESTAMP_LTZ(3)"
        case .decimal(let scale): "DECIMAL(18, \(scale))"
        }
    }

    /// An interval literal in the largest unit that divides `ms`, e.g. `INTERVAL '1' HOUR`,
    /// `INTERVAL '90' SECOND`, `INTERVAL '0.250' SECOND`. Leading precision is written when the value
    /// has more than the two digits Flink allows by default.
    static func interval(ms: Int64) -> String {
        let units: [(String, Int64)] = [
            ("DAY", 86_400_000), ("HOUR", 3_600_000), ("MINUTE", 60_000), ("SECOND", 1_000),
        ]
        for (unit, size) in units where ms >= size && ms % size == 0 {
            let n = ms / size
            let digits = String(n).count
            return "INTERVAL '\(n)' \(unit)" + (digits > 2 ? "(\(digits))" : "")
        }
        let seconds = ms / 1000
        let millis = String(ms % 1000)
        let fraction = String(repeating: "0", count: 3 - millis.count) + millis
        let digits = String(seconds).count
        return "INTERVAL '\(seconds).\(fraction)' SECOND" + (digits > 2 ? "(\(digits), 3)" : "")
    }

    /// A duration option value (`10000 ms`).
    static func duration(ms: Int64) -> String { "\(ms) ms" }

    /// A `%Y %m %d %H %M %S %%` pattern (the bucket template's and `format()`'s) as a Java
    /// `DateTimeFormatter` pattern for `DATE_FORMAT`; nil when it uses anything else.
    static func javaPattern(_ strftime: String) -> String? {
        var out = ""
        var literal = ""
        func flush() {
            guard !literal.isEmpty else { return }
            // Letters are pattern letters in Java; everything literal goes in quotes to be safe.
            out += "'" + literal.replacingOccurrences(of: "'", with: "''") + "'"
            literal = ""
        }
        var chars = strftime.makeIterator()
        while let c = chars.next() {
            guard c == "%" else {
                literal.append(c)
                continue
            }
            guard let d = chars.next() else { return nil }
            let mapped: String
            switch d {
            case "Y": mapped = "yyyy"
            case "m": mapped = "MM"
            case "d": mapped = "dd"
            case "H": mapped = "HH"
            case "M": mapped = "mm"
            case "S": mapped = "ss"
            case "%":
                literal.append("%")
                continue
            default: return nil
            }
            flush()
            out += mapped
        }
        flush()
        return out
    }

    /// A timestamp as Flink formats it in `DATE_FORMAT` (Flink formats `TIMESTAMP`, so the instant is first
    /// turned into the session's wall-clock time: the script sets the session time zone to UTC).
    static func dateFormat(_ timestampSQL: String, javaPattern: String) -> String {
        "DATE_FORMAT(CAST(\(timestampSQL) AS TIMESTAMP(3)), \(quote(javaPattern)))"
    }

    /// RFC 3339 with milliseconds, the text streamctl writes for a timestamp.
    static let rfc3339Pattern = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
}
