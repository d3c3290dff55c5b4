import Synchronization

/// Keyed state in process memory, one shard per key group. For tests, small state and benchmarks of
/// the runtime without RocksDB; nothing survives the process.
public final class MemoryStateBackend: KeyedStateBackend {
    private let tables = Mutex<[String: MemoryStateTable]>([:])
    private let keyGroups: KeyGroups

    public init(keyGroups: KeyGroups = KeyGroups()) { self.keyGroups = keyGroups }

    public func table(named name: String) throws(StreamError) -> any KeyedStateTable {
        tables.withLock { tables in
            if let t = tables[name] { return t }
            let t = MemoryStateTable(shards: keyGroups.maxParallelism)
            tables[name] = t
            return t
        }
    }

    func allTables() -> [(String, MemoryStateTable)] { tables.withLock { $0.map { ($0.key, $0.value) } } }

    public func metrics() -> [String: Int64] {
        let count = tables.withLock { $0.values.reduce(0) { $0 + $1.count } }
        return ["estimate-num-keys": Int64(count)]
    }
}

/// One table of `MemoryStateBackend`: per key group a dictionary of namespaces, each a dictionary of
/// entries, behind the key group's lock (uncontended: a key group has one owner at a time). A firing
/// reads its namespace's dictionary and a removal drops it whole, as RocksDB does with a key range.
final class MemoryStateTable: KeyedStateTable {
    private let shards: [Shard]

    init(shards: Int) { self.shards = (0..<shards).map { _ in Shard() } }

    typealias Namespaces = [Int64: [[UInt8]: [UInt8]]]

    final class Shard: Sendable {
        let map = Mutex<Namespaces>([:])
        func withLock<R>(_ body: (inout Namespaces) -> R) -> R { map.withLock { body(&$0) } }
    }

    /// Every entry, for a snapshot.
    func allEntries() -> [([UInt8], [UInt8])] {
        shards.flatMap { s in s.withLock { $0.values.flatMap { $0.map { ($0.key, $0.value) } } } }
    }

    var count: Int { shards.reduce(0) { acc, s in acc + s.withLock { $0.values.reduce(0) { $0 + $1.count } } } }

    private func shard(_ key: [UInt8]) -> Shard { shards[StateKey.keyGroup(of: key) % shards.count] }

    func multiGet(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?] {
        keys.map { key in shard(key).withLock { $0[StateKey.namespace(of: key)]?[key] } }
    }

    func write(_ batch: StateWriteBatch) throws(StreamError) {
        for op in batch.operations {
            switch op {
            case .put(let key, let value):
                shard(key).withLock { $0[StateKey.namespace(of: key), default: [:]][key] = value }
            case .delete(let key):
                shard(key).withLock { map in
                    let ns = StateKey.namespace(of: key)
                    map[ns]?.removeValue(forKey: key)
                    if map[ns]?.isEmpty == true { map.removeValue(forKey: ns) }
                }
            case .deleteNamespace(let keyGroup, let namespace):
                _ = shards[keyGroup % shards.count].withLock { $0.removeValue(forKey: namespace) }
            }
        }
    }

    func scan(keyGroups: Range<Int>, _ body: ([UInt8], [UInt8]) throws(StreamError) -> Bool) throws(StreamError) {
        for g in keyGroups where g < shards.count {
            let entries = shards[g].withLock { $0.values.flatMap { $0 } }
            for (k, v) in entries {
                if try !body(k, v) { return }
            }
        }
    }

    func scan(
        keyGroup: Int, namespaces: ClosedRange<Int64>, _ body: ([UInt8], [UInt8]) throws(StreamError) -> Bool
    ) throws(StreamError) -> Int {
        guard keyGroup < shards.count else { return 0 }
        let entries = shards[keyGroup].withLock { map -> [(key: [UInt8], value: [UInt8])] in
            // A single namespace (a window end) is one lookup; a range looks only at namespaces held.
            if namespaces.lowerBound == namespaces.upperBound {
                return map[namespaces.lowerBound].map { Array($0) } ?? []
            }
            return map.keys.filter { namespaces.contains($0) }.sorted().flatMap { Array(map[$0]!) }
        }
        for (k, v) in entries {
            if try !body(k, v) { break }
        }
        return entries.count
    }

    func namespaces(keyGroups: Range<Int>) throws(StreamError) -> [Int64] {
        var all = Set<Int64>()
        for g in keyGroups where g < shards.count { shards[g].withLock { all.formUnion($0.keys) } }
        return all.sorted()
    }

    func approximateCount() throws(StreamError) -> Int { count }
}
