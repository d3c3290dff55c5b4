import HeapModule

/// The timer index of per-key state (session ends, TTL expiry, dedupe expiry), as Flink's timer service
/// keeps `keyGroup | time | key` in RocksDB: entries `keyGroup | bucket | key` with empty values in the
/// operator's own table, `bucket` being the timer's time rounded up to `granularityMs`. The keys' state
/// itself lives at namespace `KeyTimers.stateNamespace`, below every bucket. Firing reads the due buckets
/// of the key groups that hold them (one seek each) and then exactly the keys they name, so its cost is
/// what is due, not the state held. A key updated after its timer was set keeps a later timer: whoever
/// takes a timer checks the key's state before acting.
struct KeyTimers {
    /// Namespace of the keys' state in tables that carry timers.
    static let stateNamespace = Int64.min
    /// Expiry timers round up to a 64th of the TTL: few buckets, and a key goes at most 1.6 % of its TTL late.
    static let ttlBuckets: Int64 = 64

    let granularityMs: Int64
    /// Bucket → key groups with timers in it.
    private var pending: [Int64: Set<Int>] = [:]
    /// The pending buckets, earliest first (a bucket taken or reloaded away is skipped when it surfaces).
    private var order = Heap<Int64>()

    init(granularityMs: Int64) { self.granularityMs = max(1, granularityMs) }

    /// `time` rounded up to the granularity (a timer never fires early), kept above `stateNamespace`.
    func bucket(_ time: Int64) -> Int64 {
        let g = granularityMs
        let q = time / g
        let up = (time % g != 0 && time > 0) ? q + 1 : q
        let (b, overflow) = up.multipliedReportingOverflow(by: g)
        return overflow ? Int64.max : max(b, Self.stateNamespace + 1)
    }

    /// The earliest pending bucket: nothing is due before it.
    var next: Int64? {
        mutating get {
            while let b = order.min, pending[b] == nil { order.removeMin() }
            return order.min
        }
    }

    var pendingBuckets: Int { pending.count }

    /// Sets a timer at `time` for the key whose encoded bytes (without prefix) are `key`.
    mutating func set(at time: Int64, keyGroup: Int, key: ArraySlice<UInt8>, into write: inout StateWriteBatch) {
        let b = bucket(time)
        var k = StateKey.prefix(keyGroup: keyGroup, namespace: b)
        k.append(contentsOf: key)
        write.put(k, [])
        if pending[b] == nil { order.insert(b) }
        pending[b, default: []].insert(keyGroup)
    }

    /// Takes every timer due at `time` (bucket ≤ time): deletes their entries into `write` and returns the
    /// state keys they name, each once, in key order; `visited` counts the entries read.
    mutating func takeDue(
        upTo time: Int64, from table: any KeyedStateTable, into write: inout StateWriteBatch, visited: inout Int64
    ) throws(StreamError) -> [[UInt8]] {
        var keys = Set<[UInt8]>()
        while let b = next, b <= time {
            order.removeMin()
            for g in (pending.removeValue(forKey: b) ?? []).sorted() {
                visited += Int64(
                    try table.scan(keyGroup: g, namespaces: b...b) {
                        (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
                        write.delete(k)
                        keys.insert(
                            StateKey.encode(
                                keyGroup: g, key: Array(StateKey.key(of: k)), namespace: Self.stateNamespace))
                        return true
                    })
            }
        }
        return keys.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Reloads the pending buckets of `keyGroups` from `table` (after a restart or a reassignment):
    /// one skip scan over namespaces per key group.
    mutating func load(from table: any KeyedStateTable, keyGroups: Range<Int>) throws(StreamError) {
        pending.removeAll()
        order = Heap()
        for g in keyGroups {
            for b in try table.namespaces(keyGroups: g..<(g + 1)) where b != Self.stateNamespace {
                if pending[b] == nil { order.insert(b) }
                pending[b, default: []].insert(g)
            }
        }
    }
}
