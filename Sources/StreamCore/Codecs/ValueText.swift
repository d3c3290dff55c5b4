/// A single value as plain text (no JSON quoting): RFC 3339 for timestamps, exact digits for decimals.
/// For message keys and other places where one field becomes bytes.
public enum ValueText {
    /// Appends row `row` of `column` to `out`; false (nothing appended) for null.
    @discardableResult
    public static func append(_ column: Column, row: Int, into out: inout [UInt8]) -> Bool {
        guard column.isValid(row) else { return false }
        switch column.type {
        case .int64: ByteFormat.appendInt(column.int64s[row], into: &out)
        case .timestamp: ByteFormat.appendTimestamp(column.int64s[row], into: &out)
        case .decimal(let scale): ByteFormat.appendDecimal(column.int64s[row], scale: scale, into: &out)
        case .double: ByteFormat.appendDouble(column.doubles[row], into: &out)
        case .bool: out.append(contentsOf: (column.bools[row] ? "true" : "false").utf8)
        case .string: out.append(contentsOf: column.strings.bytes[column.strings.range(row)])
        }
        return true
    }
}
