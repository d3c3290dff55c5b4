/// Decodes one JSON object per record (a Kafka message, a JSON line) straight into a batch's columns.
///
/// Keys are matched by their UTF-8 bytes against the schema's names (trying the field after the last
/// match first, so records in schema order match in one compare). Unknown keys are skipped with their
/// values. A duplicate key is an error (the record is ambiguous). Missing or `null` nullable fields
/// become nulls; anything else that does not fit the schema throws `DecodeError` and leaves the batch
/// as it was.
public struct JSONRecordDecoder: RecordDecoder {
    public let schema: Schema
    private let kinds: [FieldKind]
    private let nullable: [Bool]
    private let nameBytes: [UInt8]
    private let nameStart: [Int]
    private let nameLength: [Int]
    /// Per-record scratch state, allocated once.
    private var seen: [Bool]
    private var createdValidity: [Bool]
    private var keyScratch: [UInt8] = []

    public init(schema: Schema) {
        self.schema = schema
        kinds = schema.fields.map { FieldKind($0.type) }
        nullable = schema.fields.map(\.nullable)
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var lengths: [Int] = []
        for f in schema.fields {
            starts.append(bytes.count)
            bytes.append(contentsOf: Array(f.name.utf8))
            lengths.append(f.name.utf8.count)
        }
        nameBytes = bytes
        nameStart = starts
        nameLength = lengths
        seen = Array(repeating: false, count: schema.count)
        createdValidity = Array(repeating: false, count: schema.count)
    }

    public mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DecodeError("empty record", at: 0) }
        let p = base.assumingMemoryBound(to: UInt8.self)
        for k in seen.indices {
            seen[k] = false
            createdValidity[k] = false
        }
        do {
            try decodeObject(JSONCursor(p, bytes.count), into: &batch)
        } catch {
            rollback(&batch)
            throw error
        }
        batch.commitRow()
    }

    private mutating func decodeObject(_ start: JSONCursor, into batch: inout Batch) throws(DecodeError) {
        var c = start
        c.skipWhitespace()
        guard c.peek == 123 else {
            throw c.atEnd ? DecodeError("empty record", at: c.i) : c.unexpected(expected: "a JSON object `{`")
        }
        c.i += 1
        c.skipWhitespace()
        var hint = 0
        if c.peek == 125 {
            c.i += 1
        } else {
            while true {
                c.skipWhitespace()
                guard c.peek == 34 else { throw c.unexpected(expected: "a key string") }
                let keyOffset = c.i
                let key = try c.scanString()
                let field = match(c.p, key.start, key.end, key.escaped, hint: hint)
                try c.expect(58, "`:`")
                c.skipWhitespace()
                if field >= 0 {
                    if seen[field] {
                        throw DecodeError("field `\(schema[field].name)`: duplicate key", at: keyOffset)
                    }
                    seen[field] = true
                    try decodeValue(&c, field: field, into: &batch)
                    hint = field + 1
                } else {
                    try c.skipValue()
                }
                c.skipWhitespace()
                if c.peek == 44 {
                    c.i += 1
                    continue
                }
                try c.expect(125, "`,` or `}`")
                break
            }
        }
        c.skipWhitespace()
        if !c.atEnd {
            throw DecodeError("trailing characters after the JSON object: \(JSONCursor.show(c.peek))", at: c.i)
        }
        for f in 0..<seen.count where !seen[f] {
            guard nullable[f] else {
                throw DecodeError("field `\(schema[f].name)`: missing (the field is not nullable)", at: c.i)
            }
            appendNull(field: f, into: &batch)
        }
    }

    /// The schema index of the key, or -1.
    @inline(__always)
    private mutating func match(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ escaped: Bool, hint: Int) -> Int {
        if escaped {
            keyScratch.removeAll(keepingCapacity: true)
            JSONCursor.unescape(p, e, s, e, into: &keyScratch)
            return keyScratch.withUnsafeBufferPointer { k in
                find(k.baseAddress ?? p, k.count, hint: hint)
            }
        }
        return find(p + s, e - s, hint: hint)
    }

    @inline(__always)
    private func find(_ key: UnsafePointer<UInt8>, _ len: Int, hint: Int) -> Int {
        let count = nameLength.count
        return nameBytes.withUnsafeBufferPointer { names -> Int in
            for step in 0..<count {
                var f = hint + step
                if f >= count { f -= count }
                guard nameLength[f] == len else { continue }
                let name = names.baseAddress! + nameStart[f]
                if len == 0 || (name[0] == key[0] && memcmpBytes(name, key, len)) { return f }
            }
            return -1
        }
    }

    private mutating func appendNull(field f: Int, into batch: inout Batch) {
        if batch.columns[f].validity == nil { createdValidity[f] = true }
        batch.columns[f].appendNull()
    }

    private func rollback(_ batch: inout Batch) {
        DecodeRollback.restore(&batch, createdValidity: createdValidity)
    }

    @inline(__always)
    private mutating func decodeValue(_ c: inout JSONCursor, field f: Int, into batch: inout Batch) throws(DecodeError)
    {
        let first = c.peek
        if first == 110 {  // null
            let at = c.i
            try c.literal("null")
            guard nullable[f] else {
                throw DecodeError("field `\(schema[f].name)`: null in a non-nullable \(schema[f].type) field", at: at)
            }
            appendNull(field: f, into: &batch)
            return
        }
        let at = c.i
        switch kinds[f] {
        case .int64, .timestamp:
            if first == 45 || first &- 48 < 10 {
                let num = try c.scanNumber()
                guard num.integral else { throw mismatch(f, c.p, c.n, at) }
                switch ScalarText.int64(c.p + num.start, num.end - num.start) {
                case .success(let v) where kinds[f] == .int64: batch.columns[f].int64s.append(v)
                case .success(let v):
                    guard let ms = schema[f].timeUnit.toMillis(v) else {
                        let text = ScalarText.preview(c.p + num.start, num.end - num.start)
                        throw DecodeError("field `\(schema[f].name)`: timestamp out of range: \(text)", at: at)
                    }
                    batch.columns[f].int64s.append(ms)
                case .failure:
                    let text = ScalarText.preview(c.p + num.start, num.end - num.start)
                    throw DecodeError("field `\(schema[f].name)`: \(schema[f].type) out of range: \(text)", at: at)
                }
            } else if first == 34, kinds[f] == .timestamp {
                let s = try c.scanString()
                guard !s.escaped, let v = CivilTime.parseRFC3339(c.p + s.start, s.end - s.start) else {
                    throw DecodeError(
                        "field `\(schema[f].name)`: expected an RFC 3339 timestamp or epoch milliseconds, found "
                            + JSONCursor(c.p, c.n, at: at).describeValue(),
                        at: at
                    )
                }
                batch.columns[f].int64s.append(v)
            } else {
                throw mismatch(f, c.p, c.n, at)
            }
        case .double:
            guard first == 45 || first &- 48 < 10 else { throw mismatch(f, c.p, c.n, at) }
            let num = try c.scanNumber()
            let v = ScalarText.double(c.p + num.start, num.end - num.start) ?? .nan
            batch.columns[f].doubles.append(v)
        case .bool:
            if first == 116 {
                try c.literal("true")
                batch.columns[f].bools.append(true)
            } else if first == 102 {
                try c.literal("false")
                batch.columns[f].bools.append(false)
            } else {
                throw mismatch(f, c.p, c.n, at)
            }
        case .string:
            guard first == 34 else { throw mismatch(f, c.p, c.n, at) }
            let s = try c.scanString()
            if s.escaped {
                JSONCursor.unescape(c.p, c.n, s.start, s.end, into: &batch.columns[f].strings.bytes)
                batch.columns[f].strings.offsets.append(UInt32(batch.columns[f].strings.bytes.count))
            } else {
                batch.columns[f].strings.append(
                    bytes: UnsafeRawBufferPointer(start: c.p + s.start, count: s.end - s.start)
                )
            }
        case .decimal(let scale):
            let range: (start: Int, end: Int)
            if first == 45 || first &- 48 < 10 {
                let num = try c.scanNumber()
                range = (num.start, num.end)
            } else if first == 34 {
                let s = try c.scanString()
                guard !s.escaped else { throw mismatch(f, c.p, c.n, at) }
                range = (s.start, s.end)
            } else {
                throw mismatch(f, c.p, c.n, at)
            }
            let strict = schema[f].strictDecimal
            switch ScalarText.decimal(c.p + range.start, range.end - range.start, scale: scale, strict: strict) {
            case .success(let v): batch.columns[f].int64s.append(v)
            case .failure(.tooPrecise):
                let text = ScalarText.preview(c.p + range.start, range.end - range.start)
                throw DecodeError.tooPrecise(schema[f], text, at: at)
            case .failure(.outOfRange):
                let text = ScalarText.preview(c.p + range.start, range.end - range.start)
                throw DecodeError("field `\(schema[f].name)`: \(schema[f].type) out of range: \(text)", at: at)
            case .failure: throw mismatch(f, c.p, c.n, at)
            }
        }
        batch.columns[f].markLastValid()
    }

    private func mismatch(_ f: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ at: Int) -> DecodeError {
        let found = JSONCursor(p, n, at: at).describeValue()
        return DecodeError("field `\(schema[f].name)`: expected \(schema[f].type), found \(found)", at: at)
    }
}

/// The decode path of a field type, flattened for a fast switch.
enum FieldKind: Equatable {
    case int64, double, bool, string, timestamp
    case decimal(scale: Int)

    init(_ type: FieldType) {
        switch type {
        case .int64: self = .int64
        case .double: self = .double
        case .bool: self = .bool
        case .string: self = .string
        case .timestamp: self = .timestamp
        case .decimal(let scale): self = .decimal(scale: scale)
        }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    for k in 0..<n where a[k] != b[k] { return false }
    return true
}

extension JSONCursor {
    init(_ p: UnsafePointer<UInt8>, _ n: Int, at i: Int) {
        self.init(p, n)
        self.i = i
    }
}
