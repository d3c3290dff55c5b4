/// Encodes rows as JSON objects, `{"field":value,...}`, straight into a byte buffer.
/// Timestamps are RFC 3339 UTC strings with milliseconds, decimals exact numbers with their scale,
/// non-finite doubles and nulls `null`.
public struct JSONRowEncoder: Sendable {
    public let schema: Schema
    /// `{"a":` for the first field, `,"b":` for the others: field names are escaped once.
    private let prefixes: [[UInt8]]

    public init(schema: Schema) {
        self.schema = schema
        var prefixes: [[UInt8]] = []
        for (i, field) in schema.fields.enumerated() {
            var p: [UInt8] = [i == 0 ? UInt8(ascii: "{") : UInt8(ascii: ",")]
            ByteFormat.appendJSONString(field.name, into: &p)
            p.append(UInt8(ascii: ":"))
            prefixes.append(p)
        }
        self.prefixes = prefixes
    }

    /// Appends row `row` of `batch` as one JSON object, without a trailing newline.
    public func encode(_ batch: Batch, row: Int, into out: inout [UInt8]) {
        precondition(batch.columns.count == prefixes.count, "batch does not match the encoder's schema")
        if prefixes.isEmpty { out.append(UInt8(ascii: "{")) }
        for i in 0..<prefixes.count {
            out.append(contentsOf: prefixes[i])
            Self.appendValue(batch, column: i, row: row, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Appends every row of `batch`, each followed by `\n` (JSON lines).
    public func encodeAll(_ batch: Batch, into out: inout [UInt8]) {
        for row in 0..<batch.count {
            encode(batch, row: row, into: &out)
            out.append(0x0A)
        }
    }

    /// One row as a standalone message (the Kafka sink's value). Builds an encoder per call; keep a
    /// `JSONRowEncoder` when encoding many rows.
    public static func jsonMessage(_ batch: Batch, row: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 * max(1, batch.columns.count))
        JSONRowEncoder(schema: batch.schema).encode(batch, row: row, into: &out)
        return out
    }

    /// Reads `batch.columns[column]` in place: binding the column to a local, or passing it by value,
    /// retains and releases its arrays once per value written.
    @inline(__always)
    static func appendValue(_ batch: Batch, column i: Int, row: Int, into out: inout [UInt8]) {
        if batch.columns[i].validity?[row] == false {
            out.append(contentsOf: nullBytes)
            return
        }
        switch batch.columns[i].type {
        case .int64: ByteFormat.appendInt(batch.columns[i].int64s[row], into: &out)
        case .timestamp:
            out.append(UInt8(ascii: "\""))
            ByteFormat.appendTimestamp(batch.columns[i].int64s[row], into: &out)
            out.append(UInt8(ascii: "\""))
        case .decimal(let scale): ByteFormat.appendDecimal(batch.columns[i].int64s[row], scale: scale, into: &out)
        case .double:
            let v = batch.columns[i].doubles[row]
            if v.isFinite {
                ByteFormat.appendDouble(v, into: &out)
            } else {
                out.append(contentsOf: nullBytes)
            }
        case .bool: out.append(contentsOf: batch.columns[i].bools[row] ? trueBytes : falseBytes)
        case .string: batch.columns[i].strings.withBytes(at: row) { ByteFormat.appendJSONString($0, into: &out) }
        }
    }

    static let nullBytes: [UInt8] = Array("null".utf8)
    static let trueBytes: [UInt8] = Array("true".utf8)
    static let falseBytes: [UInt8] = Array("false".utf8)
}
