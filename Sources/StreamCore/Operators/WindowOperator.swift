/// Tumbling and sliding event-time windows over the current key, with aggregates.
///
/// State: one entry per (key, window) at `keyGroup | key | windowEnd` holding the accumulators. Each batch
/// is pre-aggregated in memory, merged into state with one `multiGet` and one `write`. When the watermark
/// passes a window's end the worker scans the key groups it owns, emits the due windows and deletes them
/// (after `allowed_lateness`), so state holds only open windows.
public final class WindowOperator: StreamOperator {
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
    /// Ends of windows that hold state and have not fired.
    private var pendingEnds: Set<Int64> = []
    /// Ends of windows that fired but are kept for allowed lateness, with keys updated since firing.
    private var firedEnds: [Int64: Set<[UInt8]>] = [:]
    private var lateRows: Int64 = 0
    private var windowsFired: Int64 = 0
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
        try recoverPendingWindows()
    }

    /// Rebuilds the open and the fired-but-kept windows from state (after a restart or a key-group
    /// reassignment): a window the watermark has passed has fired, and is kept only for allowed lateness.
    private func recoverPendingWindows() throws(StreamError) {
        pendingEnds.removeAll()
        firedEnds.removeAll()
        try table.scan(keyGroups: ownedKeyGroups) { (k: [UInt8], _: [UInt8]) throws(StreamError) -> Bool in
            let end = StateKey.namespace(of: k)
            if end - 1 <= watermark {
                if firedEnds[end] == nil { firedEnds[end] = [] }
            } else {
                pendingEnds.insert(end)
            }
            return true
        }
    }

    /// Takes over a new key-group range at a rescale barrier: no state moves. Late updates to fired windows
    /// not yet re-fired are re-fired at the barrier by the worker (`onWatermark` again) before this runs.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) {
        ownedKeyGroups = range
        self.watermark = max(self.watermark, watermark)
        cache.removeAll()
        try recoverPendingWindows()
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
            if firedEnds[end] != nil {
                firedEnds[end]!.insert(keys[s])
            } else {
                pendingEnds.insert(end)
            }
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
        let due = Set(pendingEnds.filter { $0 - 1 <= wm })
        let refire = firedEnds.filter { !$0.value.isEmpty }
        let expire = Set(firedEnds.keys.filter { $0 - 1 + allowedLatenessMs <= wm })
        guard !due.isEmpty || !refire.isEmpty || !expire.isEmpty else { return }

        var columns = outputSchema.fields.map { Column(type: $0.type) }
        var rows = 0
        var deletes = StateWriteBatch()
        var emitted: [(end: Int64, key: [UInt8], value: [UInt8])] = []
        try table.scan(keyGroups: ownedKeyGroups) { (k: [UInt8], v: [UInt8]) throws(StreamError) -> Bool in
            let end = StateKey.namespace(of: k)
            if due.contains(end) || refire[end]?.contains(k) == true {
                emitted.append((end, k, v))
            }
            if (due.contains(end) || expire.contains(end)) && end - 1 + allowedLatenessMs <= wm {
                deletes.delete(k)
                cache.remove(k)
            }
            return true
        }
        // Emit in a deterministic order: by window, then by key bytes.
        emitted.sort { $0.end != $1.end ? $0.end < $1.end : $0.key.lexicographicallyPrecedes($1.key) }
        for e in emitted {
            key.decode(StateKey.key(of: e.key), into: &columns)
            let accs = try AccumulatorCodec.decode(e.value, count: aggregates.count).accs
            let base = key.fields.count
            columns[base].int64s.append(e.end - sizeMs)
            columns[base].markLastValid()
            columns[base + 1].int64s.append(e.end)
            columns[base + 1].markLastValid()
            for (a, agg) in aggregates.enumerated() { agg.output(accs[a], into: &columns[base + 2 + a]) }
            rows += 1
        }
        for end in due {
            pendingEnds.remove(end)
            if end - 1 + allowedLatenessMs > wm { firedEnds[end] = [] }
        }
        for end in refire.keys { firedEnds[end] = [] }
        for end in expire { firedEnds.removeValue(forKey: end) }
        windowsFired += Int64(due.count)
        if !deletes.isEmpty { try table.write(deletes) }
        if rows > 0 { out.emit(Batch(schema: outputSchema, columns: columns)) }
    }

    public func metrics() -> [String: Int64] {
        [
            "open_windows": Int64(pendingEnds.count), "windows_fired": windowsFired,
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

/// Appends a namespace in the sign-flipped big-endian layout of `StateKey`.
@inline(__always)
func appendNamespace(_ namespace: Int64, _ out: inout [UInt8]) {
    appendBE(UInt64(bitPattern: namespace) ^ (1 << 63), &out)
}
