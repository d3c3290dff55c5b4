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
            Self.appendValue(batch.columns[i], row: row, into: &out)
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

    @inline(__always)
    static func appendValue(_ c: Column, row: Int, into out: inout [UInt8]) {
        if let validity = c.validity, !validity[row] {
            out.append(contentsOf: nullBytes)
            return
        }
        switch c.type {
        case .int64: ByteFormat.appendInt(c.int64s[row], into: &out)
        case .timestamp:
            out.append(UInt8(ascii: "\""))
            ByteFormat.appendTimestamp(c.int64s[row], into: &out)
            out.append(UInt8(ascii: "\""))
        case .decimal(let scale): ByteFormat.appendDecimal(c.int64s[row], scale: scale, into: &out)
        case .double:
            let v = c.doubles[row]
            if v.isFinite {
                ByteFormat.appendDouble(v, into: &out)
            } else {
                out.append(contentsOf: nullBytes)
            }
        case .bool: out.append(contentsOf: c.bools[row] ? trueBytes : falseBytes)
        case .string: c.strings.withBytes(at: row) { ByteFormat.appendJSONString($0, into: &out) }
        }
    }

    static let nullBytes: [UInt8] = Array("null".utf8)
    static let trueBytes: [UInt8] = Array("true".utf8)
    static let falseBytes: [UInt8] = Array("false".utf8)
}
