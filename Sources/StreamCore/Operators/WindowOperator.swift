/// Tumbling and sliding event-time windows over the current key, with aggregates.
///
/// State: one entry per (key, window) at `keyGroup | windowEnd | key` holding the accumulators, and a
/// timer per (key group, window end) (`WindowTimers`). Each batch is pre-aggregated in memory, merged into
/// state with one `multiGet` and one `write`. When the watermark passes a window's end the worker reads
/// that window's entries in the key groups its timers name (one seek each), emits them and deletes them
/// (after `allowed_lateness`), so a firing costs what it fires, whatever else the state holds.
public final class WindowOperator: KeyedStreamOperator {
    let key: KeyColumns
    let timeIndex: Int
    let sizeMs: Int64
    let slideMs: Int64
    let aggregates: [BoundAggregate]
    let table: any KeyedStateTable
    let keyGroups: KeyGroups
    let allowedLatenessMs: Int64
    public let outputSchema: Schema
    /// Late rows (behind the watermark past allowed lateness) are handed here, or only counted when nil.
    let lateOutput: (@Sendable (Batch) -> Void)?

    private var ownedKeyGroups: Range<Int>
    private var watermark: Int64 = .min
    private var timers = WindowTimers()
    /// Keys of fired windows (still within allowed lateness) updated since they fired: fired again.
    private var updatedSinceFiring: [Int64: Set<[UInt8]>] = [:]
    private var lateRows: Int64 = 0
    private var windowsFired: Int64 = 0
    /// Entries the store stepped over to fire, and rows fired: their ratio is the cost of a firing.
    private var fireEntriesVisited: Int64 = 0
    private var fireRows: Int64 = 0
    private var cache: StateCache

    public init(
        key: KeyColumns, timeIndex: Int, kind: WindowKind, aggregates: [BoundAggregate], table: any KeyedStateTable,
        keyGroups: KeyGroups, ownedKeyGroups: Range<Int>, allowedLatenessMs: Int64, cacheBytes: Int = 0,
        lateOutput: (@Sendable (Batch) -> Void)? = nil
    ) throws(StreamError) {
        cache = StateCache(capacityBytes: cacheBytes)
        switch kind {
        case .tumbling(let size):
            sizeMs = size
            slideMs = size
        case .sliding(let size, let slide):
            sizeMs = size
            slideMs = slide
        case .session:
            throw StreamError(.internal, "session windows are handled by SessionWindowOperator")
        }
        self.key = key
        self.timeIndex = timeIndex
        self.aggregates = aggregates
        self.table = table
        self.keyGroups = keyGroups
        self.ownedKeyGroups = ownedKeyGroups
        self.allowedLatenessMs = allowedLatenessMs
        self.lateOutput = lateOutput
        self.outputSchema = WindowOperator.outputSchema(key: key, aggregates: aggregates)
        try timers.load(from: table, keyGroups: ownedKeyGroups)
    }

    /// Takes over a new key-group range (parallelism change at a barrier): no state moves. The timers of
    /// the new range come from state, so windows another worker opened or fired are found; the watermark
    /// stays.
    public func reassign(keyGroups range: Range<Int>) throws(StreamError) {
        ownedKeyGroups = range
        updatedSinceFiring = updatedSinceFiring.compactMapValues { keys in
            let mine = keys.filter { range.contains(StateKey.keyGroup(of: $0)) }
            return mine.isEmpty ? nil : mine
        }
        cache.removeAll()
        try timers.load(from: table, keyGroups: range)
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        let hashes = key.hashes(batch)
        let times = batch.columns[timeIndex]
        var slots = SlotTable(aggregateCount: aggregates.count, expected: 256)
        var late: [Int] = []
        for row in 0..<batch.count {
            guard times.isValid(row) else {
                late.append(row)
                continue
            }
            let t = times.int64s[row]
            var end = floorDiv(t, slideMs) * slideMs + slideMs
            var assigned = false
            while end - sizeMs <= t {
                if end - 1 + allowedLatenessMs > watermark {
                    let s = slots.slot(hash: hashes[row], namespace: end, row: row, batch: batch, key: key)
                    for a in aggregates.indices {
                        aggregates[a].update(&slots.accumulators[s][a], batch, row: row, ts: t)
                    }
                    assigned = true
                }
                end += slideMs
            }
            if !assigned { late.append(row) }
        }
        if !late.isEmpty {
            lateRows += Int64(late.count)
            lateOutput?(batch.gather(late))
        }
        guard slots.count > 0 else { return }

        let keys = slots.stateKeys(batch, key: key, keyGroups: keyGroups)
        let existing = try read(keys)
        var write = StateWriteBatch()
        for s in 0..<slots.count {
            var accs = slots.accumulators[s]
            if let old = existing[s] {
                var stored = try AccumulatorCodec.decode(old, count: aggregates.count).accs
                for a in aggregates.indices { aggregates[a].merge(&stored[a], accs[a]) }
                accs = stored
            }
            let value = AccumulatorCodec.encode(accs)
            cache.put(keys[s], value)
            write.put(keys[s], value)
            let end = slots.namespaces[s]
            timers.noteState(end: end, keyGroup: keyGroups.keyGroup(hash: slots.hashes[s]), into: &write)
            if timers.isFired(end) { updatedSinceFiring[end, default: []].insert(keys[s]) }
        }
        try table.write(write)
    }

    /// Values of `keys`: from the worker cache where it has them, the rest with one `multiGet`.
    private func read(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?] {
        guard cache.capacityBytes > 0 else { return try table.multiGet(keys) }
        var values = [[UInt8]?](repeating: nil, count: keys.count)
        var missing: [Int] = []
        for (i, k) in keys.enumerated() {
            if let v = cache.get(k) { values[i] = v } else { missing.append(i) }
        }
        if !missing.isEmpty {
            let fetched = try table.multiGet(missing.map { keys[$0] })
            for (j, i) in missing.enumerated() { values[i] = fetched[j] }
        }
        return values
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        self.watermark = watermark
        try fire(upTo: watermark, into: &out)
    }

    public func finish(into out: inout Output) throws(StreamError) {
        watermark = .max
        try fire(upTo: .max, into: &out)
    }

    private func fire(upTo wm: Int64, into out: inout Output) throws(StreamError) {
        let due = timers.due(watermark: wm)
        let expire = timers.expired(watermark: wm, latenessMs: allowedLatenessMs)
        guard !due.isEmpty || !updatedSinceFiring.isEmpty || !expire.isEmpty else { return }

        var write = StateWriteBatch()
        var emitted: [(end: Int64, key: [UInt8], value: [UInt8])] = []
        for end in due {
            let keep = end - 1 + allowedLatenessMs > wm
            for g in timers.fire(end: end, keep: keep, into: &write).sorted() {
                let visited = try table.scan(keyGroup: g, namespaces: end...end) {
                    (k: [UInt8], v: [UInt8]) throws(StreamError) -> Bool in
                    emitted.append((end, k, v))
                    if !keep { removeFired(k, &write) }
                    return true
                }
                fireEntriesVisited += Int64(visited)
            }
        }
        windowsFired += Int64(due.count)
        // Late updates to fired windows: read exactly the keys that changed.
        for (end, updated) in updatedSinceFiring.sorted(by: { $0.key < $1.key }) {
            let keys = Array(updated)
            for (k, v) in zip(keys, try read(keys)) {
                if let v { emitted.append((end, k, v)) }
            }
            fireEntriesVisited += Int64(keys.count)
        }
        updatedSinceFiring.removeAll()
        for end in expire {
            for g in timers.expire(end: end, into: &write) {
                fireEntriesVisited += Int64(
                    try table.scan(keyGroup: g, namespaces: end...end) {
                        (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
                        removeFired(k, &write)
                        return true
                    })
            }
        }
        if !write.isEmpty { try table.write(write) }
        guard !emitted.isEmpty else { return }

        // Emit in a deterministic order: by window, then by key bytes.
        emitted.sort { $0.end != $1.end ? $0.end < $1.end : $0.key.lexicographicallyPrecedes($1.key) }
        var columns = outputSchema.fields.map { Column(type: $0.type) }
        let base = key.fields.count
        for e in emitted {
            key.decode(StateKey.key(of: e.key), into: &columns)
            let accs = try AccumulatorCodec.decode(e.value, count: aggregates.count).accs
            columns[base].int64s.append(e.end - sizeMs)
            columns[base].markLastValid()
            columns[base + 1].int64s.append(e.end)
            columns[base + 1].markLastValid()
            for (a, agg) in aggregates.enumerated() { agg.output(accs[a], into: &columns[base + 2 + a]) }
        }
        fireRows += Int64(emitted.count)
        out.emit(Batch(schema: outputSchema, columns: columns))
    }

    /// Removes a fired entry. A point delete, not a range deletion per key group: its tombstone sorts
    /// before every later window's entries, so no later firing's seek walks it (RocksDB 7.8 re-fragments
    /// all range tombstones of a memtable on the next read after each new one, 22 % of a run's time).
    @inline(__always)
    private func removeFired(_ key: [UInt8], _ write: inout StateWriteBatch) {
        write.delete(key)
        cache.remove(key)
    }

    public func metrics() -> [String: Int64] {
        [
            "open_windows": Int64(timers.pendingCount), "windows_fired": windowsFired,
            "fire_entries_visited": fireEntriesVisited, "fire_rows": fireRows,
            "state_cache_hits": cache.hits, "state_cache_misses": cache.misses,
        ]
    }

    public func takeLateRows() -> Int64 {
        defer { lateRows = 0 }
        return lateRows
    }
}

extension WindowOperator {
    /// What every window operator emits: the key fields, `window_start`, `window_end`, then the aggregates.
    public static func outputSchema(key: KeyColumns, aggregates: [BoundAggregate]) -> Schema {
        Schema(
            key.fields + [Field("window_start", .timestamp), Field("window_end", .timestamp)]
                + aggregates.map(\.outputField))
    }
}

