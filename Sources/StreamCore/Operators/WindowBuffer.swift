/// The accumulators of the windows a worker updated recently, by window end then state key: merged in
/// place row batch after row batch, and written to the table only when flushed (at a barrier, when over
/// capacity, before a rescale, or when a window fires and must stay for allowed lateness). A window that
/// opens and fires between two flushes never reaches the table. The table stays the truth for what is
/// not here: an entry is added from the table's value, and dropped only after it was written.
struct WindowBuffer {
    /// A state key with a 64-bit hash of its bytes computed in one pass (`KeyHash`): the dictionary
    /// combines that word instead of feeding `Hasher` the bytes one by one.
    struct Key: Hashable {
        let bytes: [UInt8]
        let hash: UInt64
        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            hash = bytes.withUnsafeBytes { KeyHash.hash($0) }
        }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    }

    struct Entry {
        var accs: [Accumulator]
        /// Changed since it was last written.
        var dirty: Bool
        /// The table holds a version of it (removing the window must delete it there too).
        var stored: Bool
    }

    let capacityBytes: Int
    private(set) var byEnd: [Int64: [Key: Entry]] = [:]
    /// Window end → key groups whose entries of that window may be in the table (written by a flush, or
    /// found in state at a restart): only there does a key the buffer lacks need a table read.
    private var stored: [Int64: Set<Int>] = [:]
    private(set) var bytes = 0
    private(set) var hits: Int64 = 0
    private(set) var misses: Int64 = 0

    /// Key and accumulator arrays, dictionary slots and headers per entry, measured roughly.
    static let entryOverhead = 160

    init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    var isOverCapacity: Bool { bytes > capacityBytes }

    func contains(_ key: Key, end: Int64) -> Bool { byEnd[end]?[key] != nil }

    func entry(_ key: Key, end: Int64) -> Entry? { byEnd[end]?[key] }

    /// Whether the table may hold entries of window `end` in `keyGroup`.
    func mayBeStored(end: Int64, keyGroup: Int) -> Bool { stored[end]?.contains(keyGroup) == true }

    /// Marks window `end` in `keyGroup` as possibly in the table (state found at a restart or a rescale).
    mutating func noteStored(end: Int64, keyGroup: Int) { stored[end, default: []].insert(keyGroup) }

    /// Forgets window `end` (fired and removed).
    mutating func forget(end: Int64) { stored.removeValue(forKey: end) }

    /// Merges a batch's partial accumulators into the entry of `key`, created from `stored` (the table's
    /// value, already decoded) when it is not held yet.
    @inline(__always)
    mutating func merge(
        _ partial: [Accumulator], key: Key, end: Int64, stored: [Accumulator]??, aggregates: [BoundAggregate]
    ) {
        if byEnd[end]?[key] != nil {
            hits += 1
            byEnd[end]![key]!.dirty = true
            for a in aggregates.indices { aggregates[a].merge(&byEnd[end]![key]!.accs[a], partial[a]) }
            return
        }
        misses += 1
        var entry = Entry(accs: partial, dirty: true, stored: false)
        if case .some(.some(var old)) = stored {
            for a in aggregates.indices { aggregates[a].merge(&old[a], partial[a]) }
            entry = Entry(accs: old, dirty: true, stored: true)
        }
        byEnd[end, default: [:]][key] = entry
        bytes += key.bytes.count + aggregates.count * 48 + Self.entryOverhead
    }

    /// Takes window `end`'s entries out of the buffer.
    mutating func take(end: Int64) -> [Key: Entry] {
        guard let entries = byEnd.removeValue(forKey: end) else { return [:] }
        for (k, e) in entries { bytes -= k.bytes.count + e.accs.count * 48 + Self.entryOverhead }
        return entries
    }

    /// Puts an entry's value into `write` and remembers that its window's key group is in the table.
    private mutating func write(_ k: Key, _ e: Entry, end: Int64, into write: inout StateWriteBatch) {
        write.put(k.bytes, AccumulatorCodec.encode(e.accs))
        stored[end, default: []].insert(StateKey.keyGroup(of: k.bytes))
    }

    /// Puts the dirty entries into `write`; then drops every entry (`drop`) or keeps them, clean.
    mutating func flush(into write: inout StateWriteBatch, drop: Bool) {
        for (end, entries) in byEnd {
            for (k, e) in entries where e.dirty {
                self.write(k, e, end: end, into: &write)
                if !drop {
                    byEnd[end]![k]!.dirty = false
                    byEnd[end]![k]!.stored = true
                }
            }
        }
        if drop {
            byEnd.removeAll()
            bytes = 0
        }
    }

    /// Over capacity: writes and drops whole windows, the latest ends first, until a quarter of the
    /// capacity is free again (emptying it all would make the worker read its hot windows back).
    mutating func evict(into write: inout StateWriteBatch) {
        for end in byEnd.keys.sorted(by: >) {
            guard bytes > capacityBytes - capacityBytes / 4 else { break }
            for (k, e) in take(end: end) where e.dirty { self.write(k, e, end: end, into: &write) }
        }
    }

    /// Drops every entry and what it knows of the table (before a reassignment reloads it).
    mutating func removeAll() {
        byEnd.removeAll()
        stored.removeAll()
        bytes = 0
    }

    var count: Int { byEnd.values.reduce(0) { $0 + $1.count } }
}
