/// Tumbling and sliding event-time windows over the current key, with aggregates.
///
/// State: one entry per (key, window) at `keyGroup | windowEnd | key` holding the accumulators, and a
/// timer per (key group, window end) (`WindowTimers`). Each row updates its window's accumulators in place
/// in the worker's `WindowBuffer`, found by the state key encoded into a reusable scratch buffer (entries
/// the batch makes are merged with what the table holds, read with one `multiGet`); the buffer is
/// written to the table at a barrier or when over capacity. When the watermark passes a window's
/// end the worker takes its entries from the buffer and reads
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
    private var buffer: WindowBuffer

    public init(
        key: KeyColumns, timeIndex: Int, kind: WindowKind, aggregates: [BoundAggregate], table: any KeyedStateTable,
        keyGroups: KeyGroups, ownedKeyGroups: Range<Int>, allowedLatenessMs: Int64, cacheBytes: Int = 0,
        lateOutput: (@Sendable (Batch) -> Void)? = nil
    ) throws(StreamError) {
        buffer = WindowBuffer(capacityBytes: cacheBytes, aggregateCount: aggregates.count)
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
        try loadTimers()
    }

    /// Timers of the owned key groups from state; their windows may have entries in the table.
    private func loadTimers() throws(StreamError) {
        try timers.load(from: table, keyGroups: ownedKeyGroups)
        for (end, groups) in timers.pending.merging(timers.fired, uniquingKeysWith: { $0.union($1) }) {
            for g in groups { buffer.noteStored(end: end, keyGroup: g) }
        }
    }

    /// Takes over a new key-group range at a rescale barrier: no state moves. The timers of the new range
    /// come from state, so windows another worker opened or fired are found. `watermark` is the stage's at
    /// the barrier (a new worker has none yet); late updates not yet re-fired were re-fired by the worker
    /// at the barrier before this runs.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) {
        self.watermark = max(self.watermark, watermark)
        try flush(drop: true)
        buffer.removeAll()
        ownedKeyGroups = range
        updatedSinceFiring = updatedSinceFiring.compactMapValues { keys in
            let mine = keys.filter { range.contains(StateKey.keyGroup(of: $0)) }
            return mine.isEmpty ? nil : mine
        }
        try loadTimers()
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        // The buffer is moved out for the batch, so the row loop mutates a local value: no exclusivity
        // check or copy-on-write per row on the class's stored property.
        var buf = WindowBuffer(capacityBytes: 0, aggregateCount: 0)
        swap(&buf, &buffer)
        defer { swap(&buf, &buffer) }
        var write = StateWriteBatch()
        var late: [Int] = []
        // Entries made by this batch in windows whose key group may have state in the table.
        var toLoad: [Int32] = []
        let hashes = key.hashes(batch)
        let times = batch.columns[timeIndex]
        let n = aggregates.count
        var scratch = StateKeyScratch()
        for row in 0..<batch.count {
            guard times.isValid(row) else {
                late.append(row)
                continue
            }
            let t = times.int64s[row]
            let group = keyGroups.keyGroup(hash: hashes[row])
            var end = floorDiv(t, slideMs) * slideMs + slideMs
            var assigned = false
            while end - sizeMs <= t {
                if end - 1 + allowedLatenessMs > watermark {
                    scratch.encode(keyGroup: group, namespace: end, batch, row: row, key: key)
                    var id = buf.find(scratch)
                    if id < 0 {
                        buf.misses += 1
                        id = buf.insert(scratch, end: end, firedWindow: timers.isFired(end))
                        timers.noteState(end: end, keyGroup: group, into: &write)
                        if buf.mayBeStored(end: end, keyGroup: group) { toLoad.append(id) }
                    } else {
                        buf.hits += 1
                    }
                    let base = Int(id) * n
                    for a in 0..<n { aggregates[a].update(&buf.accumulators[base + a], batch, row: row, ts: t) }
                    buf.markDirty(id)
                    if buf.isFiredWindow(id) { updatedSinceFiring[end, default: []].insert(buf.key(id)) }
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
        // What the table holds of the new entries, in one read, merged under this batch's updates.
        if !toLoad.isEmpty {
            let values = try table.multiGet(toLoad.map { buf.key($0) })
            for (j, id) in toLoad.enumerated() {
                if let v = values[j] {
                    buf.mergeStored(id, try AccumulatorCodec.decode(v, count: n).accs, aggregates: aggregates)
                }
            }
        }
        if buf.isOverCapacity { buf.evict(into: &write) }
        if !write.isEmpty { try table.write(write) }
    }

    /// Current accumulators of `keys` in window `end`: the buffer's, else the table's.
    private func current(_ keys: [[UInt8]], end: Int64) throws(StreamError) -> [[Accumulator]?] {
        var out = [[Accumulator]?](repeating: nil, count: keys.count)
        var missing: [Int] = []
        for (i, k) in keys.enumerated() {
            if let accs = buffer.accumulators(ofKey: k) { out[i] = accs } else { missing.append(i) }
        }
        if !missing.isEmpty {
            let values = try table.multiGet(missing.map { keys[$0] })
            for (j, i) in missing.enumerated() {
                if let v = values[j] { out[i] = try AccumulatorCodec.decode(v, count: aggregates.count).accs }
            }
        }
        return out
    }

    /// Writes the buffer's changes to the table (and empties it when `drop`).
    private func flush(drop: Bool) throws(StreamError) {
        var write = StateWriteBatch()
        timers.persist(into: &write)
        buffer.flush(into: &write, drop: drop)
        if !write.isEmpty { try table.write(write) }
    }

    /// A barrier: everything this worker changed is in the table, so a snapshot or a rescale sees it.
    public func onBarrier(_ barrier: Barrier, into out: inout Output) throws(StreamError) {
        try flush(drop: false)
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
        var pending = outputSchema.fields.map { Column(type: $0.type) }
        for end in due {
            let keep = end - 1 + allowedLatenessMs > wm
            var held: [Int: [WindowBuffer.Taken]] = [:]
            for e in buffer.take(end: end) { held[StateKey.keyGroup(of: e.key), default: []].append(e) }
            let groups = timers.fire(end: end, keep: keep, into: &write).union(held.keys)
            // One key group at a time, in order: the rows come out sorted by key as a whole, and what a
            // firing holds at once is one key group's share of the window, not the window.
            for g in groups.sorted() {
                var mine = held.removeValue(forKey: g) ?? []
                mine.sort { $0.key.lexicographicallyPrecedes($1.key) }
                // What the buffer does not hold was written earlier: read it back from the table.
                var scanned: [(key: [UInt8], value: [UInt8])] = []
                fireEntriesVisited += Int64(
                    try table.scan(keyGroup: g, namespaces: end...end) {
                        (k: [UInt8], v: [UInt8]) throws(StreamError) -> Bool in
                        scanned.append((k, v))
                        return true
                    })
                scanned.sort { $0.key.lexicographicallyPrecedes($1.key) }
                fireEntriesVisited += Int64(mine.count)
                var rows: [(key: [UInt8], accs: [Accumulator])] = []
                rows.reserveCapacity(mine.count + scanned.count)
                // Both sides sorted by key: where both hold a key, the buffer's value is the newer one.
                var i = 0
                var j = 0
                while i < scanned.count || j < mine.count {
                    let tableFirst =
                        j == mine.count || (i < scanned.count && scanned[i].key.lexicographicallyPrecedes(mine[j].key))
                    if tableFirst {
                        let accs = try AccumulatorCodec.decode(scanned[i].value, count: aggregates.count).accs
                        rows.append((scanned[i].key, accs))
                        if !keep { write.delete(scanned[i].key) }
                        i += 1
                        continue
                    }
                    let e = mine[j]
                    let inTable = i < scanned.count && scanned[i].key == e.key
                    if inTable { i += 1 }
                    j += 1
                    rows.append((e.key, e.accs))
                    if keep {
                        // Late rows within allowed lateness read it from the table.
                        if e.dirty { write.put(e.key, AccumulatorCodec.encode(e.accs)) }
                    } else if e.stored || inTable {
                        write.delete(e.key)
                    }
                }
                if keep && !mine.isEmpty { buffer.noteStored(end: end, keyGroup: g) }
                append(&rows, end: end, to: &pending, out: &out)
                if write.operations.count >= 16_384 {
                    try table.write(write)
                    write = StateWriteBatch()
                }
            }
            if !keep { buffer.forget(end: end) }
        }
        windowsFired += Int64(due.count)
        // Late updates to fired windows: read exactly the keys that changed.
        for (end, updated) in updatedSinceFiring.sorted(by: { $0.key < $1.key }) {
            let keys = Array(updated)
            var rows: [(key: [UInt8], accs: [Accumulator])] = []
            for (k, accs) in zip(keys, try current(keys, end: end)) {
                if let accs { rows.append((k, accs)) }
            }
            fireEntriesVisited += Int64(keys.count)
            append(&rows, end: end, to: &pending, out: &out)
        }
        updatedSinceFiring.removeAll()
        for end in expire {
            for e in buffer.take(end: end) where e.stored { write.delete(e.key) }
            buffer.forget(end: end)
            for g in timers.expire(end: end, into: &write) {
                fireEntriesVisited += Int64(
                    try table.scan(keyGroup: g, namespaces: end...end) {
                        (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
                        write.delete(k)
                        return true
                    })
            }
        }
        if !write.isEmpty { try table.write(write) }
        emit(&pending, into: &out)
    }

    /// Rows per batch a firing emits.
    static let firedBatchRows = 8_192

    /// Appends the rows of window `end`, sorted by key bytes (a deterministic order), to `columns`;
    /// emits them as a batch once it holds `firedBatchRows`.
    private func append(
        _ rows: inout [(key: [UInt8], accs: [Accumulator])], end: Int64, to columns: inout [Column],
        out: inout Output
    ) {
        guard !rows.isEmpty else { return }
        rows.sort { $0.key.lexicographicallyPrecedes($1.key) }
        let base = key.fields.count
        for r in rows {
            key.decode(StateKey.key(of: r.key), into: &columns)
            columns[base].int64s.append(end - sizeMs)
            columns[base].markLastValid()
            columns[base + 1].int64s.append(end)
            columns[base + 1].markLastValid()
            for (a, agg) in aggregates.enumerated() { agg.output(r.accs[a], into: &columns[base + 2 + a]) }
        }
        fireRows += Int64(rows.count)
        rows.removeAll()
        if columns[base].int64s.count >= Self.firedBatchRows { emit(&columns, into: &out) }
    }

    private func emit(_ columns: inout [Column], into out: inout Output) {
        guard !(columns[key.fields.count].int64s.isEmpty) else { return }
        out.emit(Batch(schema: outputSchema, columns: columns))
        columns = outputSchema.fields.map { Column(type: $0.type) }
    }

    public func metrics() -> [String: Int64] {
        [
            "open_windows": Int64(timers.pendingCount), "windows_fired": windowsFired,
            "fire_entries_visited": fireEntriesVisited, "fire_rows": fireRows,
            "state_cache_hits": buffer.hits, "state_cache_misses": buffer.misses,
            "buffered_windows": Int64(buffer.count),
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
