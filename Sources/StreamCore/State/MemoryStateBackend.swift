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

    public func metrics() -> [String: Int64] {
        let count = tables.withLock { $0.values.reduce(0) { $0 + $1.count } }
        return ["estimate-num-keys": Int64(count)]
    }
}

/// One table of `MemoryStateBackend`: a dictionary per key group, each behind its own lock
/// (uncontended: a key group has one owner at a time).
final class MemoryStateTable: KeyedStateTable {
    private let shards: [Shard]

    init(shards: Int) { self.shards = (0..<shards).map { _ in Shard() } }

    final class Shard: Sendable {
        let map = Mutex<[[UInt8]: [UInt8]]>([:])
        func withLock<R>(_ body: (inout [[UInt8]: [UInt8]]) -> R) -> R { map.withLock { body(&$0) } }
    }

    var count: Int { shards.reduce(0) { acc, s in acc + s.withLock { $0.count } } }

    func multiGet(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?] {
        keys.map { key in shards[StateKey.keyGroup(of: key) % shards.count].withLock { $0[key] } }
    }

    func write(_ batch: StateWriteBatch) throws(StreamError) {
        for op in batch.operations {
            switch op {
            case .put(let key, let value):
                shards[StateKey.keyGroup(of: key) % shards.count].withLock { $0[key] = value }
            case .delete(let key):
                _ = shards[StateKey.keyGroup(of: key) % shards.count].withLock { $0.removeValue(forKey: key) }
            }
        }
    }

    func scan(keyGroups: Range<Int>, _ body: ([UInt8], [UInt8]) throws(StreamError) -> Bool) throws(StreamError) {
        for g in keyGroups where g < shards.count {
            let entries = shards[g].withLock { Array($0) }
            for (k, v) in entries {
                if try !body(k, v) { return }
            }
        }
    }

    func approximateCount() throws(StreamError) -> Int { count }
}
