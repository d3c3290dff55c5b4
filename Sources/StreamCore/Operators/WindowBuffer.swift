/// The accumulators of the windows a worker updated recently, by window end then state key: merged in
/// place row batch after row batch, and written to the table only when flushed (at a barrier, when over
/// capacity, before a rescale, or when a window fires and must stay for allowed lateness). A window that
/// opens and fires between two flushes never reaches the table. The table stays the truth for what is
/// not here: an entry is added from the table's value, and dropped only after it was written.
struct WindowBuffer {
    struct Entry {
        var accs: [Accumulator]
        /// Changed since it was last written.
        var dirty: Bool
        /// The table holds a version of it (removing the window must delete it there too).
        var stored: Bool
    }

    let capacityBytes: Int
    private(set) var byEnd: [Int64: [[UInt8]: Entry]] = [:]
    private(set) var bytes = 0
    private(set) var hits: Int64 = 0
    private(set) var misses: Int64 = 0

    /// Key and accumulator arrays, dictionary slots and headers per entry, measured roughly.
    static let entryOverhead = 160

    init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    var isOverCapacity: Bool { bytes > capacityBytes }

    func contains(_ key: [UInt8], end: Int64) -> Bool { byEnd[end]?[key] != nil }

    func entry(_ key: [UInt8], end: Int64) -> Entry? { byEnd[end]?[key] }

    /// Merges a batch's partial accumulators into the entry of `key`, created from `stored` (the table's
    /// value, already decoded) when it is not held yet.
    @inline(__always)
    mutating func merge(
        _ partial: [Accumulator], key: [UInt8], end: Int64, stored: [Accumulator]??, aggregates: [BoundAggregate]
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
        bytes += key.count + aggregates.count * 48 + Self.entryOverhead
    }

    /// Takes window `end`'s entries out of the buffer.
    mutating func take(end: Int64) -> [[UInt8]: Entry] {
        guard let entries = byEnd.removeValue(forKey: end) else { return [:] }
        for (k, e) in entries { bytes -= k.count + e.accs.count * 48 + Self.entryOverhead }
        return entries
    }

    /// Puts the dirty entries into `write`; then drops every entry (`drop`) or keeps them, clean.
    mutating func flush(into write: inout StateWriteBatch, drop: Bool) {
        for (end, entries) in byEnd {
            for (k, e) in entries where e.dirty {
                write.put(k, AccumulatorCodec.encode(e.accs))
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
            for (k, e) in take(end: end) where e.dirty { write.put(k, AccumulatorCodec.encode(e.accs)) }
        }
    }

    /// Drops the entries of key groups outside `range` (after they were flushed).
    mutating func removeAll() {
        byEnd.removeAll()
        bytes = 0
    }

    var count: Int { byEnd.values.reduce(0) { $0 + $1.count } }
}
