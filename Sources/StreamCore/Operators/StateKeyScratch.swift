/// One reusable buffer the per-row path encodes a state key into (`keyGroup | namespace | key`, the layout
/// of `StateKey.appendPrefix` + `KeyColumns.encode`) without allocating: it grows only when a key is
/// longer than any before.
struct StateKeyScratch {
    private var storage = [UInt8](repeating: 0, count: 64)
    private(set) var count = 0

    /// Encodes row `row`'s key of `batch` in window (namespace) `namespace` of key group `keyGroup`.
    @inline(__always)
    mutating func encode(keyGroup: Int, namespace: Int64, _ batch: Batch, row: Int, key: KeyColumns) {
        // Columns are read through `batch.columns[c]` in place: binding one to a local copies (retains) it.
        var needed = StateKey.prefixCount
        for c in key.indices {
            guard batch.columns[c].isValid(row) else {
                needed += 1
                continue
            }
            switch batch.columns[c].type.storage {
            case .int64, .double: needed += 9
            case .bool: needed += 2
            case .string: needed += 5 + batch.columns[c].strings.range(row).count
            }
        }
        if needed > storage.count { storage = [UInt8](repeating: 0, count: max(needed, storage.count * 2)) }
        count = needed
        storage.withUnsafeMutableBytes { out in
            out[0] = UInt8(truncatingIfNeeded: keyGroup >> 8)
            out[1] = UInt8(truncatingIfNeeded: keyGroup)
            // Flip the sign bit so that negative namespaces sort before positive ones.
            out.storeBytes(of: (UInt64(bitPattern: namespace) ^ (1 << 63)).bigEndian, toByteOffset: 2, as: UInt64.self)
            var p = StateKey.prefixCount
            for c in key.indices {
                guard batch.columns[c].isValid(row) else {
                    out[p] = 0
                    p += 1
                    continue
                }
                out[p] = 1
                p += 1
                switch batch.columns[c].type.storage {
                case .int64:
                    let v = UInt64(bitPattern: batch.columns[c].int64s[row])
                    out.storeBytes(of: v.bigEndian, toByteOffset: p, as: UInt64.self)
                    p += 8
                case .double:
                    out.storeBytes(of: batch.columns[c].doubles[row].bitPattern.bigEndian, toByteOffset: p, as: UInt64.self)
                    p += 8
                case .bool:
                    out[p] = batch.columns[c].bools[row] ? 1 : 0
                    p += 1
                case .string:
                    let r = batch.columns[c].strings.range(row)
                    out.storeBytes(of: UInt32(r.count).bigEndian, toByteOffset: p, as: UInt32.self)
                    p += 4
                    if !r.isEmpty {
                        batch.columns[c].strings.bytes.withUnsafeBytes { src in
                            (out.baseAddress! + p).copyMemory(from: src.baseAddress! + r.lowerBound, byteCount: r.count)
                        }
                    }
                    p += r.count
                }
            }
        }
    }

    /// The encoded key.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
