/// One scalar, for row-at-a-time paths off the hot loop (tests, formatting, literals).
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case timestamp(Int64)
    case decimal(Int64, scale: Int)

    public var description: String {
        switch self {
        case .null: "null"
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .bool(let v): String(v)
        case .string(let v): v
        case .timestamp(let v): String(v)
        case .decimal(let v, let scale): DecimalFormat.string(v, scale: scale)
        }
    }
}

/// Formatting of scaled-integer decimals.
public enum DecimalFormat {
    public static func string(_ value: Int64, scale: Int) -> String {
        if scale == 0 { return String(value) }
        var p: Int64 = 1
        for _ in 0..<scale { p *= 10 }
        let negative = value < 0
        let magnitude = value.magnitude
        let whole = magnitude / UInt64(p)
        let frac = String(magnitude % UInt64(p))
        return (negative ? "-" : "") + "\(whole)." + String(repeating: "0", count: scale - frac.count) + frac
    }
}

extension Batch {
    /// The value at `row` of column `column`.
    public func value(row: Int, column: Int) -> Value {
        let c = columns[column]
        guard c.isValid(row) else { return .null }
        switch c.type {
        case .int64: return .int64(c.int64s[row])
        case .timestamp: return .timestamp(c.int64s[row])
        case .decimal(let scale): return .decimal(c.int64s[row], scale: scale)
        case .double: return .double(c.doubles[row])
        case .bool: return .bool(c.bools[row])
        case .string: return .string(c.strings.string(at: row))
        }
    }

    /// Every row as values, for tests and small outputs.
    public func rows() -> [[Value]] {
        (0..<count).map { r in (0..<columns.count).map { value(row: r, column: $0) } }
    }
}

extension Column {
    /// Appends a value of this column's type; a `.null` appends a null.
    public mutating func append(_ value: Value) {
        switch (value, type.storage) {
        case (.null, _): appendNull(); return
        case (.int64(let v), .int64), (.timestamp(let v), .int64), (.decimal(let v, _), .int64): int64s.append(v)
        case (.int64(let v), .double): doubles.append(Double(v))
        case (.double(let v), .double): doubles.append(v)
        case (.bool(let v), .bool): bools.append(v)
        case (.string(let v), .string): strings.append(v)
        default: preconditionFailure("value \(value) does not fit column of type \(type)")
        }
        markLastValid()
    }
}
