/// Encodes rows as RFC 4180 CSV lines: fields quoted only when they hold a comma, quote, CR or LF;
/// nulls are empty fields; timestamps RFC 3339 UTC with milliseconds; decimals exact with their scale.
public struct CSVRowEncoder: Sendable {
    public let schema: Schema

    public init(schema: Schema) {
        self.schema = schema
    }

    /// Appends the header line (the field names) followed by `\n`.
    public func header(into out: inout [UInt8]) {
        for (i, field) in schema.fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            ByteFormat.appendCSVField(field.name, into: &out)
        }
        out.append(0x0A)
    }

    /// Appends row `row` of `batch` without a line end.
    public func encode(_ batch: Batch, row: Int, into out: inout [UInt8]) {
        precondition(batch.columns.count == schema.count, "batch does not match the encoder's schema")
        for i in 0..<batch.columns.count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendValue(batch.columns[i], row: row, into: &out)
        }
    }

    /// Appends every row of `batch`, each followed by `\n` (no header).
    public func encodeAll(_ batch: Batch, into out: inout [UInt8]) {
        for row in 0..<batch.count {
            encode(batch, row: row, into: &out)
            out.append(0x0A)
        }
    }

    @inline(__always)
    static func appendValue(_ c: Column, row: Int, into out: inout [UInt8]) {
        if let validity = c.validity, !validity[row] { return }
        switch c.type {
        case .int64: ByteFormat.appendInt(c.int64s[row], into: &out)
        case .timestamp: ByteFormat.appendTimestamp(c.int64s[row], into: &out)
        case .decimal(let scale): ByteFormat.appendDecimal(c.int64s[row], scale: scale, into: &out)
        case .double:
            let v = c.doubles[row]
            if v.isFinite {
                ByteFormat.appendDouble(v, into: &out)
            } else {
                out.append(contentsOf: v.isNaN ? Array("NaN".utf8) : Array((v < 0 ? "-Infinity" : "Infinity").utf8))
            }
        case .bool: out.append(contentsOf: c.bools[row] ? JSONRowEncoder.trueBytes : JSONRowEncoder.falseBytes)
        case .string: c.strings.withBytes(at: row) { ByteFormat.appendCSVField($0, into: &out) }
        }
    }
}
