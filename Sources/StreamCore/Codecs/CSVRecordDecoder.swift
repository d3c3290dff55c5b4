/// Decodes one CSV line per record (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`) into a batch's columns.
///
/// Columns map to fields by `header` names when given (columns not in the schema are ignored), else in
/// schema order. An empty unquoted value is a null in a nullable field and the empty string in a
/// non-nullable string field; a quoted `""` is always the empty string. Values use the same text rules as
/// JSON strings: numbers, `true`/`false`/`1`/`0`, RFC 3339 or epoch-millis timestamps, exact decimals.
public struct CSVRecordDecoder: RecordDecoder {
    public let schema: Schema
    public let delimiter: UInt8
    private let kinds: [FieldKind]
    /// Schema field of each CSV column, or -1 to ignore the column.
    private let mapping: [Int]
    private var seen: [Bool]
    private var createdValidity: [Bool]
    private var scratch: [UInt8] = []

    public init(schema: Schema, header: [String]? = nil, delimiter: UInt8 = UInt8(ascii: ",")) {
        self.schema = schema
        self.delimiter = delimiter
        kinds = schema.fields.map { FieldKind($0.type) }
        mapping = header.map { names in names.map { schema.index(of: $0) ?? -1 } } ?? Array(0..<schema.count)
        seen = Array(repeating: false, count: schema.count)
        createdValidity = Array(repeating: false, count: schema.count)
    }

    public mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DecodeError("empty record", at: 0) }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var n = bytes.count
        if p[n - 1] == 10 { n -= 1 }
        if n > 0, p[n - 1] == 13 { n -= 1 }
        for k in seen.indices {
            seen[k] = false
            createdValidity[k] = false
        }
        do {
            try decodeLine(p, n, into: &batch)
        } catch {
            DecodeRollback.restore(&batch, createdValidity: createdValidity)
            throw error
        }
        batch.commitRow()
    }

    private mutating func decodeLine(_ p: UnsafePointer<UInt8>, _ n: Int, into batch: inout Batch) throws(DecodeError) {
        var i = 0
        var column = 0
        while true {
            let start = i
            var quoted = false
            var doubled = false
            var end: Int
            if i < n, p[i] == 34 {
                quoted = true
                i += 1
                while true {
                    guard i < n else { throw DecodeError("unterminated quoted value", at: start) }
                    if p[i] == 34 {
                        if i + 1 < n, p[i + 1] == 34 {
                            doubled = true
                            i += 2
                            continue
                        }
                        break
                    }
                    i += 1
                }
                end = i
                i += 1
                guard i == n || p[i] == delimiter else {
                    throw DecodeError("unexpected \(JSONCursor.show(p[i])) after a closing quote", at: i)
                }
            } else {
                while i < n, p[i] != delimiter {
                    if p[i] == 34 { throw DecodeError("quote inside an unquoted value", at: i) }
                    i += 1
                }
                end = i
            }
            guard column < mapping.count else {
                throw DecodeError("too many values: expected \(mapping.count)", at: start)
            }
            let f = mapping[column]
            if f >= 0 {
                let s = quoted ? start + 1 : start
                try decodeValue(p + s, end - s, quoted: quoted, doubled: doubled, field: f, at: start, into: &batch)
            }
            column += 1
            if i >= n { break }
            i += 1  // the delimiter
        }
        for f in 0..<seen.count where !seen[f] {
            guard schema[f].nullable else {
                throw DecodeError("field `\(schema[f].name)`: missing (the field is not nullable)", at: n)
            }
            if batch.columns[f].validity == nil { createdValidity[f] = true }
            batch.columns[f].appendNull()
        }
    }

    private mutating func decodeValue(
        _ p: UnsafePointer<UInt8>,
        _ n: Int,
        quoted: Bool,
        doubled: Bool,
        field f: Int,
        at offset: Int,
        into batch: inout Batch
    ) throws(DecodeError) {
        if seen[f] { throw DecodeError("field `\(schema[f].name)`: duplicate column", at: offset) }
        seen[f] = true
        if n == 0 && !quoted && (schema[f].nullable || kinds[f] != .string) {
            guard schema[f].nullable else {
                throw DecodeError(
                    "field `\(schema[f].name)`: empty value in a non-nullable \(schema[f].type) field",
                    at: offset
                )
            }
            if batch.columns[f].validity == nil { createdValidity[f] = true }
            batch.columns[f].appendNull()
            return
        }
        if doubled {
            scratch.removeAll(keepingCapacity: true)
            var k = 0
            while k < n {
                scratch.append(p[k])
                k += p[k] == 34 ? 2 : 1
            }
            let copy = scratch
            try copy.withUnsafeBufferPointer { b throws(DecodeError) in
                try decodeText(b.baseAddress!, b.count, field: f, at: offset, into: &batch)
            }
        } else {
            try decodeText(p, n, field: f, at: offset, into: &batch)
        }
    }

    @inline(__always)
    private func decodeText(
        _ p: UnsafePointer<UInt8>,
        _ n: Int,
        field f: Int,
        at offset: Int,
        into batch: inout Batch
    ) throws(DecodeError) {
        switch kinds[f] {
        case .string:
            batch.columns[f].strings.append(bytes: UnsafeRawBufferPointer(start: p, count: n))
        case .int64:
            switch ScalarText.int64(p, n) {
            case .success(let v): batch.columns[f].int64s.append(v)
            case .failure(.outOfRange): throw outOfRange(f, p, n, offset)
            case .failure: throw mismatch(f, p, n, offset)
            }
        case .timestamp:
            guard let v = ScalarText.timestamp(p, n, unit: schema[f].timeUnit) else { throw mismatch(f, p, n, offset) }
            batch.columns[f].int64s.append(v)
        case .double:
            guard let v = ScalarText.double(p, n) else { throw mismatch(f, p, n, offset) }
            batch.columns[f].doubles.append(v)
        case .bool:
            guard let v = ScalarText.bool(p, n) else { throw mismatch(f, p, n, offset) }
            batch.columns[f].bools.append(v)
        case .decimal(let scale):
            switch ScalarText.decimal(p, n, scale: scale, strict: schema[f].strictDecimal) {
            case .success(let v): batch.columns[f].int64s.append(v)
            case .failure(.outOfRange): throw outOfRange(f, p, n, offset)
            case .failure(.tooPrecise): throw DecodeError.tooPrecise(schema[f], ScalarText.preview(p, n), at: offset)
            case .failure: throw mismatch(f, p, n, offset)
            }
        }
        batch.columns[f].markLastValid()
    }

    private func mismatch(_ f: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ at: Int) -> DecodeError {
        DecodeError(
            "field `\(schema[f].name)`: expected \(schema[f].type), found \"\(ScalarText.preview(p, n))\"",
            at: at
        )
    }

    private func outOfRange(_ f: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ at: Int) -> DecodeError {
        DecodeError("field `\(schema[f].name)`: \(schema[f].type) out of range: \(ScalarText.preview(p, n))", at: at)
    }
}
