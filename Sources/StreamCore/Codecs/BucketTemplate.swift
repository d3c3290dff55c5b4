/// A Hive-style bucket path template over row fields, such as
/// `date={window_start:%Y-%m-%d}/hour={window_start:%H}/shop={shop}`.
///
/// `{field}` inserts the field's value as text (timestamps as RFC 3339); `{field:FORMAT}` formats a timestamp
/// field with the directives of `supportedDirectives` (strftime's meaning, UTC), inserted as written. Other values are escaped the way Hive
/// escapes partition values (`/` becomes `%2F`, `:` `%3A`, ...), a leading `.` becomes `%2E` so no value
/// can form `.`, `..` or a hidden directory, and null or empty values become `__HIVE_DEFAULT_PARTITION__`.
///
/// The template is a value; each copy keeps its own cache of the last row's bucket, so consecutive rows
/// with the same values (the usual case after routing by bucket) cost a comparison, not a formatting.
public struct BucketTemplate: Sendable {
    enum TimePart: Sendable, Equatable {
        case literal([UInt8])
        case year, month, day, hour, minute, second
        /// `%y`: the year's last two digits; `%j`: the day of the year, 001–366.
        case shortYear, dayOfYear
    }

    /// The strftime directives a bucket format accepts, for messages and docs.
    public static let supportedDirectives = "%Y %y %m %d %j %F (= %Y-%m-%d) %H %M %S and %%"

    enum Segment: Sendable {
        case literal([UInt8])
        /// A field's value; `time` is the parsed format of a timestamp field, and `unitMs` the span of
        /// time that formats identically (the finest directive), used to recognise repeated values.
        case field(index: Int, time: [TimePart]?, unitMs: Int64)
    }

    public let template: String
    let segments: [Segment]
    private var cache = Cache()

    /// The last row's bucket, and per field the value it came from and its formatted text.
    struct Cache: Sendable {
        struct Slot: Sendable {
            var valid = false
            var key: Int64 = 0
            /// The raw bytes of a string value.
            var raw: [UInt8] = []
            var text: [UInt8] = []
        }
        var filled = false
        var slots: [Slot] = []
        var bytes: [UInt8] = []
        var hash: UInt64 = 0
        /// Made from `bytes` only when asked for: routing needs just the hash.
        var text: String?
    }

    /// The fields the template reads, by schema index.
    public var fieldIndices: [Int] {
        segments.compactMap { if case .field(let i, _, _) = $0 { return i } else { return nil } }
    }

    public init(_ template: String, schema: Schema) throws(ExpressionError) {
        self.template = template
        let chars = Array(template.utf8)
        var segments: [Segment] = []
        var literal: [UInt8] = []
        var i = 0
        if chars.first == UInt8(ascii: "/") {
            throw ExpressionError("a bucket template is a relative path; remove the leading `/`", at: 0)
        }
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: "}") {
                throw ExpressionError("`}` without a matching `{`", at: i, help: "placeholders look like `{field}`")
            }
            if c != UInt8(ascii: "{") {
                literal.append(c)
                i += 1
                continue
            }
            let open = i
            guard let close = chars[(i + 1)...].firstIndex(of: UInt8(ascii: "}")) else {
                throw ExpressionError("unclosed `{`", at: open, help: "close the placeholder with `}`")
            }
            let body = chars[(open + 1)..<close]
            if body.contains(UInt8(ascii: "{")) {
                throw ExpressionError("unclosed `{`", at: open, help: "close the placeholder with `}`")
            }
            let colon = body.firstIndex(of: UInt8(ascii: ":"))
            let name = String(decoding: body[..<(colon ?? close)], as: UTF8.self)
            guard !name.isEmpty else {
                throw ExpressionError("empty placeholder", at: open, help: "name a field: `{field}`")
            }
            guard let index = schema.index(of: name) else {
                let names = schema.fields.map(\.name).joined(separator: ", ")
                throw ExpressionError(
                    "unknown field `\(name)` in bucket template", at: open + 1,
                    help: "fields are: \(names)")
            }
            var time: [TimePart]? = nil
            var unitMs: Int64 = 1
            if let colon {
                guard schema[index].type == .timestamp else {
                    throw ExpressionError(
                        "a format applies only to timestamp fields; `\(name)` is \(schema[index].type)",
                        at: colon, help: "write `{\(name)}`")
                }
                (time, unitMs) = try Self.parseTimeFormat(chars, from: colon + 1, to: close)
            }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = []
            segments.append(.field(index: index, time: time, unitMs: unitMs))
            i = close + 1
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        for component in template.split(separator: "/", omittingEmptySubsequences: false)
        where component == "." || component == ".." {
            throw ExpressionError("`\(component)` is not allowed as a bucket path component", at: 0)
        }
        self.segments = segments
    }

    private static func parseTimeFormat(
        _ chars: [UInt8], from start: Int, to end: Int
    ) throws(ExpressionError) -> ([TimePart], Int64) {
        var parts: [TimePart] = []
        var literal: [UInt8] = []
        var unit: Int64 = ByteFormat.millisPerDay
        var i = start
        while i < end {
            let c = chars[i]
            if c != UInt8(ascii: "%") {
                literal.append(c)
                i += 1
                continue
            }
            guard i + 1 < end else {
                throw ExpressionError("format ends in a lone `%`", at: i, help: "use \(supportedDirectives)")
            }
            let part: TimePart
            switch chars[i + 1] {
            case UInt8(ascii: "Y"): part = .year
            case UInt8(ascii: "m"): part = .month
            case UInt8(ascii: "d"): part = .day
            case UInt8(ascii: "y"): part = .shortYear
            case UInt8(ascii: "j"): part = .dayOfYear
            case UInt8(ascii: "F"):
                // `%F` is `%Y-%m-%d`.
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = []
                parts += [.year, .literal([UInt8(ascii: "-")]), .month, .literal([UInt8(ascii: "-")]), .day]
                i += 2
                continue
            case UInt8(ascii: "H"): part = .hour; unit = min(unit, 3_600_000)
            case UInt8(ascii: "M"): part = .minute; unit = min(unit, 60_000)
            case UInt8(ascii: "S"): part = .second; unit = min(unit, 1_000)
            case UInt8(ascii: "%"):
                literal.append(UInt8(ascii: "%"))
                i += 2
                continue
            default:
                let d = String(decoding: chars[(i + 1)...(i + 1)], as: UTF8.self)
                throw ExpressionError(
                    "unsupported format directive `%\(d)`", at: i,
                    help: "use \(supportedDirectives)")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = []
            parts.append(part)
            i += 2
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        if parts.isEmpty { throw ExpressionError("empty format", at: start - 1, help: "e.g. `%Y-%m-%d`") }
        return (parts, unit)
    }

    /// The bucket path of row `row`, e.g. `date=2026-11-27/hour=10/shop=acme`.
    public mutating func bucket(_ batch: Batch, row: Int) -> String {
        refresh(batch, row: row)
        if let text = cache.text { return text }
        let text = String(decoding: cache.bytes, as: UTF8.self)
        cache.text = text
        return text
    }

    /// A stable hash of the bucket path of row `row` (the same in every process), for routing rows by bucket.
    public mutating func bucketHash(_ batch: Batch, row: Int) -> UInt64 {
        refresh(batch, row: row)
        return cache.hash
    }

    /// Appends the bucket path of row `row` to `out`, using the cache like `bucket`.
    public mutating func appendBucket(_ batch: Batch, row: Int, into out: inout [UInt8]) {
        refresh(batch, row: row)
        out.append(contentsOf: cache.bytes)
    }

    /// Re-formats only the fields whose value differs from the previous row's, then the path if any did.
    private mutating func refresh(_ batch: Batch, row: Int) {
        if !cache.filled {
            cache.slots = Array(repeating: Cache.Slot(), count: fieldIndices.count)
        }
        var changed = !cache.filled
        var f = 0
        for segment in segments {
            guard case .field(let index, let time, let unitMs) = segment else { continue }
            let c = batch.columns[index]
            if !cache.filled || !Self.matches(cache.slots[f], c, row: row, unitMs: unitMs) {
                Self.fill(&cache.slots[f], c, row: row, time: time, unitMs: unitMs)
                changed = true
            }
            f += 1
        }
        guard changed else { return }
        cache.bytes.removeAll(keepingCapacity: true)
        f = 0
        for segment in segments {
            switch segment {
            case .literal(let l): cache.bytes.append(contentsOf: l)
            case .field:
                cache.bytes.append(contentsOf: cache.slots[f].text)
                f += 1
            }
        }
        cache.hash = cache.bytes.withUnsafeBytes { KeyHash.hash($0) }
        cache.text = nil
        cache.filled = true
    }

    @inline(__always)
    private static func matches(_ slot: Cache.Slot, _ c: Column, row: Int, unitMs: Int64) -> Bool {
        let valid = c.isValid(row)
        guard valid == slot.valid else { return false }
        guard valid else { return true }
        guard key(c, row: row, unitMs: unitMs) == slot.key else { return false }
        guard c.type.storage == .string else { return true }
        return c.strings.withBytes(at: row) { p in
            slot.raw.withUnsafeBytes { $0.elementsEqual(p) }
        }
    }

    private static func fill(_ slot: inout Cache.Slot, _ c: Column, row: Int, time: [TimePart]?, unitMs: Int64) {
        slot.valid = c.isValid(row)
        slot.key = key(c, row: row, unitMs: unitMs)
        slot.raw.removeAll(keepingCapacity: true)
        if slot.valid && c.type.storage == .string {
            c.strings.withBytes(at: row) { slot.raw.append(contentsOf: $0) }
        }
        slot.text.removeAll(keepingCapacity: true)
        appendValue(c, row: row, time: time, into: &slot.text)
    }

    /// A number equal for two rows when the field formats identically (strings also compare their bytes).
    @inline(__always)
    private static func key(_ c: Column, row: Int, unitMs: Int64) -> Int64 {
        guard c.isValid(row) else { return 0 }
        switch c.type.storage {
        case .int64:
            let v = c.int64s[row]
            if unitMs <= 1 { return v }
            let q = v / unitMs
            return v % unitMs < 0 ? q - 1 : q
        case .double: return Int64(bitPattern: c.doubles[row].bitPattern)
        case .bool: return c.bools[row] ? 1 : 0
        case .string: return Int64(c.strings.range(row).count)
        }
    }

    static let defaultPartition: [UInt8] = Array("__HIVE_DEFAULT_PARTITION__".utf8)

    private static func appendValue(_ c: Column, row: Int, time: [TimePart]?, into out: inout [UInt8]) {
        guard c.isValid(row) else {
            out.append(contentsOf: defaultPartition)
            return
        }
        switch c.type {
        case .timestamp:
            if let time {
                // Digits and the template author's own literals: nothing to escape.
                appendTime(c.int64s[row], parts: time, into: &out)
            } else {
                var text: [UInt8] = []
                ByteFormat.appendTimestamp(c.int64s[row], into: &text)
                text.withUnsafeBytes { appendEscaped($0, into: &out) }
            }
        // Numbers and bools hold no character that needs escaping and never start with `.`.
        case .int64: ByteFormat.appendInt(c.int64s[row], into: &out)
        case .decimal(let scale): ByteFormat.appendDecimal(c.int64s[row], scale: scale, into: &out)
        case .double: out.append(contentsOf: c.doubles[row].description.utf8)
        case .bool: out.append(contentsOf: (c.bools[row] ? "true" : "false").utf8)
        case .string: c.strings.withBytes(at: row) { appendEscaped($0, into: &out) }
        }
    }

    private static func appendEscaped(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if p.isEmpty {
            out.append(contentsOf: defaultPartition)
            return
        }
        for (i, b) in p.enumerated() {
            if needsEscape(b) || (i == 0 && b == UInt8(ascii: ".")) {
                out.append(UInt8(ascii: "%"))
                out.append(upperHex[Int(b >> 4)])
                out.append(upperHex[Int(b & 0xF)])
            } else {
                out.append(b)
            }
        }
    }

    private static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Hive's `FileUtils.escapePathName` set: control characters and `"#%'*/:=?\{[]^` plus DEL.
    @inline(__always)
    private static func needsEscape(_ b: UInt8) -> Bool {
        switch b {
        case 0x00...0x1F, 0x7F: true
        case UInt8(ascii: "\""), UInt8(ascii: "#"), UInt8(ascii: "%"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "\\"),
            UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "^"):
            true
        default: false
        }
    }

    private static func appendTime(_ ms: Int64, parts: [TimePart], into out: inout [UInt8]) {
        let (days, msOfDay) = ByteFormat.split(millis: ms)
        let (y, m, d) = ByteFormat.civil(days: days)
        let s = UInt64(msOfDay / 1000)
        for part in parts {
            switch part {
            case .literal(let l): out.append(contentsOf: l)
            case .year: ByteFormat.appendYear(y, into: &out)
            case .month: ByteFormat.appendUInt(UInt64(m), width: 2, into: &out)
            case .day: ByteFormat.appendUInt(UInt64(d), width: 2, into: &out)
            case .hour: ByteFormat.appendUInt(s / 3600, width: 2, into: &out)
            case .minute: ByteFormat.appendUInt(s / 60 % 60, width: 2, into: &out)
            case .second: ByteFormat.appendUInt(s % 60, width: 2, into: &out)
            case .shortYear: ByteFormat.appendUInt(UInt64(((y % 100) + 100) % 100), width: 2, into: &out)
            case .dayOfYear:
                let first = CivilTime.days(year: y, month: 1, day: 1)
                ByteFormat.appendUInt(UInt64(days - first + 1), width: 3, into: &out)
            }
        }
    }
}
