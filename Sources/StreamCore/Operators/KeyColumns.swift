/// The key of a keyed operator: which columns, how they hash to key groups, and how they are encoded into
/// state keys. The hash is the same on both sides of a `key_by` exchange, so a row reaches the worker
/// that owns its key group.
public struct KeyColumns: Sendable {
    public let indices: [Int]
    public let fields: [Field]

    public init(indices: [Int], schema: Schema) {
        self.indices = indices
        self.fields = indices.map { schema[$0] }
    }

    /// One stable hash per row.
    public func hashes(_ batch: Batch) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: batch.count)
        for (n, c) in indices.enumerated() {
            let col = batch.columns[c]
            out.withUnsafeMutableBufferPointer { h in
                switch col.type.storage {
                case .int64:
                    col.int64s.withUnsafeBufferPointer { v in
                        for i in 0..<h.count {
                            h[i] = n == 0 ? KeyHash.hash(v[i]) : KeyHash.combine(h[i], KeyHash.hash(v[i]))
                        }
                    }
                case .double:
                    for i in 0..<h.count {
                        let x = KeyHash.hash(Int64(bitPattern: col.doubles[i].bitPattern))
                        h[i] = n == 0 ? x : KeyHash.combine(h[i], x)
                    }
                case .bool:
                    for i in 0..<h.count {
                        let x = KeyHash.hash(col.bools[i] ? 1 : 0)
                        h[i] = n == 0 ? x : KeyHash.combine(h[i], x)
                    }
                case .string:
                    col.strings.bytes.withUnsafeBytes { raw in
                        col.strings.offsets.withUnsafeBufferPointer { off in
                            for i in 0..<h.count {
                                let x = KeyHash.hash(
                                    UnsafeRawBufferPointer(rebasing: raw[Int(off[i])..<Int(off[i + 1])]))
                                h[i] = n == 0 ? x : KeyHash.combine(h[i], x)
                            }
                        }
                    }
                }
            }
            if let validity = col.validity {
                for i in 0..<batch.count where !validity[i] { out[i] = KeyHash.combine(out[i], 0x6e75_6c6c) }
            }
        }
        return out
    }

    /// Appends the row's key in the state layout: per field, a null marker then int64/double as 8 bytes
    /// big-endian, bool as 1 byte, strings as a 4-byte length and the bytes.
    public func encode(_ batch: Batch, row: Int, into out: inout [UInt8]) {
        for c in indices {
            let col = batch.columns[c]
            guard col.isValid(row) else {
                out.append(0)
                continue
            }
            out.append(1)
            switch col.type.storage {
            case .int64: appendBE(UInt64(bitPattern: col.int64s[row]), &out)
            case .double: appendBE(col.doubles[row].bitPattern, &out)
            case .bool: out.append(col.bools[row] ? 1 : 0)
            case .string:
                let r = col.strings.range(row)
                appendBE32(UInt32(r.count), &out)
                out.append(contentsOf: col.strings.bytes[r])
            }
        }
    }

    /// Whether row `row` of `batch` has the key `encoded` (as written by `encode`).
    public func matches(_ batch: Batch, row: Int, _ encoded: ArraySlice<UInt8>) -> Bool {
        var scratch: [UInt8] = []
        scratch.reserveCapacity(encoded.count)
        encode(batch, row: row, into: &scratch)
        return scratch.elementsEqual(encoded)
    }

    /// Decodes an encoded key, appending one value per key field to `columns` (in key order).
    /// Returns the number of bytes consumed.
    @discardableResult
    public func decode(_ bytes: ArraySlice<UInt8>, into columns: inout [Column]) -> Int {
        var p = bytes.startIndex
        for (n, field) in fields.enumerated() {
            let present = bytes[p] == 1
            p += 1
            guard present else {
                columns[n].appendNull()
                continue
            }
            switch field.type.storage {
            case .int64:
                columns[n].int64s.append(Int64(bitPattern: readBE(bytes, at: p)))
                p += 8
            case .double:
                columns[n].doubles.append(Double(bitPattern: readBE(bytes, at: p)))
                p += 8
            case .bool:
                columns[n].bools.append(bytes[p] == 1)
                p += 1
            case .string:
                let len = Int(readBE32(bytes, at: p))
                p += 4
                bytes[p..<(p + len)].withUnsafeBytes { columns[n].strings.append(bytes: $0) }
                p += len
            }
            columns[n].markLastValid()
        }
        return p - bytes.startIndex
    }
}

@inline(__always)
func appendBE(_ v: UInt64, _ out: inout [UInt8]) {
    for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
}

@inline(__always)
func appendBE32(_ v: UInt32, _ out: inout [UInt8]) {
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
}

@inline(__always)
func readBE<C: Collection<UInt8>>(_ b: C, at p: C.Index) -> UInt64 where C.Index == Int {
    var v: UInt64 = 0
    for i in 0..<8 { v = v << 8 | UInt64(b[p + i]) }
    return v
}

@inline(__always)
func readBE32<C: Collection<UInt8>>(_ b: C, at p: C.Index) -> UInt32 where C.Index == Int {
    var v: UInt32 = 0
    for i in 0..<4 { v = v << 8 | UInt32(b[p + i]) }
    return v
}
