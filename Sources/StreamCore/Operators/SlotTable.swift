/// Per-batch pre-aggregation: one slot per distinct (key, namespace) in the batch. Looks slots up by the
/// key's hash and compares key values against the slot's first row, so no key bytes are built per row.
struct SlotTable {
    struct SlotKey: Hashable {
        var hash: UInt64
        var namespace: Int64
    }

    private var index: [SlotKey: Int] = [:]
    /// A row of the batch that carries the slot's key.
    private(set) var representative: [Int] = []
    private(set) var hashes: [UInt64] = []
    private(set) var namespaces: [Int64] = []
    var accumulators: [[Accumulator]] = []
    private var collisions: [SlotKey: [Int]] = [:]
    let aggregateCount: Int

    init(aggregateCount: Int, expected: Int) {
        self.aggregateCount = aggregateCount
        index.reserveCapacity(expected)
    }

    var count: Int { representative.count }

    /// The slot of `row`'s key in `namespace`, created when new.
    mutating func slot(hash: UInt64, namespace: Int64, row: Int, batch: Batch, key: KeyColumns) -> Int {
        let k = SlotKey(hash: hash, namespace: namespace)
        if let s = index[k] {
            if KeyValues.equal(batch, representative[s], row, key) { return s }
            // A 64-bit hash collision between different keys: keep them apart.
            for other in collisions[k, default: []] where KeyValues.equal(batch, representative[other], row, key) {
                return other
            }
            let s2 = append(k, row: row)
            collisions[k, default: []].append(s2)
            return s2
        }
        let s = append(k, row: row)
        index[k] = s
        return s
    }

    /// The state key (`keyGroup | namespace | key`) of every slot, in slot order.
    func stateKeys(_ batch: Batch, key: KeyColumns, keyGroups: KeyGroups) -> [[UInt8]] {
        (0..<count).map { s in
            var k: [UInt8] = []
            k.reserveCapacity(32)
            StateKey.appendPrefix(keyGroup: keyGroups.keyGroup(hash: hashes[s]), namespace: namespaces[s], &k)
            key.encode(batch, row: representative[s], into: &k)
            return k
        }
    }

    private mutating func append(_ k: SlotKey, row: Int) -> Int {
        representative.append(row)
        hashes.append(k.hash)
        namespaces.append(k.namespace)
        accumulators.append(Array(repeating: Accumulator(), count: aggregateCount))
        return representative.count - 1
    }
}

/// Equality of key values between two rows of one batch.
enum KeyValues {
    static func equal(_ batch: Batch, _ a: Int, _ b: Int, _ key: KeyColumns) -> Bool {
        if a == b { return true }
        for c in key.indices {
            let col = batch.columns[c]
            let va = col.isValid(a)
            if va != col.isValid(b) { return false }
            if !va { continue }
            switch col.type.storage {
            case .int64: if col.int64s[a] != col.int64s[b] { return false }
            case .double: if col.doubles[a].bitPattern != col.doubles[b].bitPattern { return false }
            case .bool: if col.bools[a] != col.bools[b] { return false }
            case .string:
                if !col.strings.bytes[col.strings.range(a)].elementsEqual(col.strings.bytes[col.strings.range(b)]) {
                    return false
                }
            }
        }
        return true
    }
}

/// Floor division for event times before 1970.
@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
