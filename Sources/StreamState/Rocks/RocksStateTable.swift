internal import CRocksDB
import StreamCore

/// One operator's keyed state: a column family of the backend's database.
final class RocksStateTable: KeyedStateTable, @unchecked Sendable {
    private let database: RocksDatabase
    private let family: RocksColumnFamily

    init(database: RocksDatabase, family: RocksColumnFamily) {
        self.database = database
        self.family = family
    }

    var name: String { family.name }

    /// One batched MultiGet for all of `keys` (RocksDB sorts them and reads each block once).
    func multiGet(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?] {
        if keys.isEmpty { return [] }
        let db = try database.handle()
        let count = keys.count
        // The keys side by side in one buffer, so that one array of pointers addresses them all.
        var flat: [UInt8] = []
        flat.reserveCapacity(keys.reduce(0) { $0 + $1.count })
        var sizes = [Int](repeating: 0, count: count)
        for (i, key) in keys.enumerated() {
            flat.append(contentsOf: key)
            sizes[i] = key.count
        }
        var values = [OpaquePointer?](repeating: nil, count: count)  // rocksdb_pinnableslice_t*, ours to free
        var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        flat.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                .assumingMemoryBound(to: CChar.self)
            var pointers = [UnsafePointer<CChar>?](repeating: nil, count: count)
            var offset = 0
            for i in 0..<count {
                pointers[i] = base + offset
                offset += sizes[i]
            }
            rocksdb_batched_multi_get_cf(
                db, database.readOptions.raw, family.raw, count, pointers, sizes, &values, &errors, false)
        }
        defer { for value in values where value != nil { rocksdb_pinnableslice_destroy(value) } }
        var firstError: UnsafeMutablePointer<CChar>?
        for error in errors where error != nil {
            if firstError == nil { firstError = error } else { rocksdb_free(error) }
        }
        try RocksError.check(firstError, "cannot read state from \(family.name) in \(database.path)")
        return values.map { value -> [UInt8]? in
            guard let value else { return nil }
            var length = 0
            guard let pointer = rocksdb_pinnableslice_value(value, &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: length))
        }
    }

    func write(_ batch: StateWriteBatch) throws(StreamError) {
        if batch.isEmpty { return }
        let rocksBatch = RocksWriteBatch()
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value): rocksBatch.put(key, value, in: family)
            case .delete(let key): rocksBatch.delete(key, in: family)
            case .deleteNamespace(let keyGroup, let namespace):
                let (lower, upper) = Self.bounds(keyGroup: keyGroup, namespaces: namespace...namespace)
                rocksBatch.deleteRange(from: lower, to: upper, in: family)
            }
        }
        try database.write(rocksBatch)
    }

    /// Keys begin with the 2-byte big-endian key group, so `[start, end)` key groups are the byte range
    /// `[start << 8 as 2 bytes, end as 2 bytes)`, visited in key order.
    func scan(keyGroups: Range<Int>, _ body: ([UInt8], [UInt8]) throws(StreamError) -> Bool) throws(StreamError) {
        if keyGroups.isEmpty { return }
        let db = try database.handle()
        let lower = Self.prefix(keyGroups.lowerBound)
        let upper = Self.prefix(keyGroups.upperBound)
        let iterator = RocksIterator(database: db, family: family, lower: lower, upper: upper)
        while iterator.isValid {
            if try !body(iterator.key, iterator.value) { return }
            iterator.next()
        }
        try iterator.checkError("cannot scan state of \(family.name) in \(database.path)")
    }

    /// One seek to `keyGroup | namespaces.lowerBound`, then in key order to the end of the range. The cost
    /// is what RocksDB's perf context counts as stepped over: entries returned, tombstones and overwritten
    /// versions.
    func scan(
        keyGroup: Int, namespaces: ClosedRange<Int64>, _ body: ([UInt8], [UInt8]) throws(StreamError) -> Bool
    ) throws(StreamError) -> Int {
        let db = try database.handle()
        let (lower, upper) = Self.bounds(keyGroup: keyGroup, namespaces: namespaces)
        let counter = RocksPerfCounter()
        var returned = 0
        do {
            let iterator = RocksIterator(database: db, family: family, lower: lower, upper: upper)
            while iterator.isValid {
                returned += 1
                if try !body(iterator.key, iterator.value) { break }
                iterator.next()
            }
            try iterator.checkError("cannot scan state of \(family.name) in \(database.path)")
        }
        // RocksDB counts the entries it returns among those it skipped past.
        return max(returned, counter.skipped())
    }

    /// A skip scan: from each namespace found, one seek to the next, so the cost is the number of
    /// namespaces (window ends), not of entries.
    func namespaces(keyGroups: Range<Int>) throws(StreamError) -> [Int64] {
        let db = try database.handle()
        var found = Set<Int64>()
        for g in keyGroups {
            let iterator = RocksIterator(database: db, family: family, lower: Self.prefix(g), upper: Self.prefix(g + 1))
            while iterator.isValid {
                let ns = iterator.withKey { StateKey.namespace(of: $0) }
                found.insert(ns)
                if ns == .max { break }
                iterator.seek(StateKey.prefix(keyGroup: g, namespace: ns + 1))
            }
            try iterator.checkError("cannot list windows of \(family.name) in \(database.path)")
        }
        return found.sorted()
    }

    /// `[keyGroup | lower namespace, just past keyGroup | upper namespace)`.
    static func bounds(keyGroup: Int, namespaces: ClosedRange<Int64>) -> (lower: [UInt8], upper: [UInt8]) {
        let lower = StateKey.prefix(keyGroup: keyGroup, namespace: namespaces.lowerBound)
        let upper =
            namespaces.upperBound == .max
            ? prefix(keyGroup + 1) : StateKey.prefix(keyGroup: keyGroup, namespace: namespaces.upperBound + 1)
        return (lower, upper)
    }

    /// The 2-byte big-endian key-group prefix (key groups stay below 32 768, see `KeyGroups`).
    static func prefix(_ keyGroup: Int) -> [UInt8] {
        precondition(keyGroup >= 0 && keyGroup <= 0xFFFF, "key group \(keyGroup) out of range")
        return [UInt8(truncatingIfNeeded: keyGroup >> 8), UInt8(truncatingIfNeeded: keyGroup)]
    }

    func approximateCount() throws(StreamError) -> Int {
        Int(try database.intProperty("rocksdb.estimate-num-keys", of: family))
    }
}
