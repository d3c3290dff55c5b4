/// A keyed aggregate over all time ("state forever"), emitting each key's updated value once per batch
/// in which it changed. With a TTL, a key not updated for `ttl` (processing time) starts over and its state
/// is removed by a periodic sweep.
public final class RunningAggregateOperator: KeyedStreamOperator {
    let key: KeyColumns
    let aggregates: [BoundAggregate]
    let table: any KeyedStateTable
    let keyGroups: KeyGroups
    let ttlMs: Int64?
    let clock: any StreamClock
    let timeIndex: Int?
    public let outputSchema: Schema
    private var ownedKeyGroups: Range<Int>
    private var lastSweepMs: Int64

    public init(
        key: KeyColumns, aggregates: [BoundAggregate], table: any KeyedStateTable, keyGroups: KeyGroups,
        ownedKeyGroups: Range<Int>, ttlMs: Int64?, timeIndex: Int?, clock: any StreamClock
    ) {
        self.key = key
        self.aggregates = aggregates
        self.table = table
        self.keyGroups = keyGroups
        self.ownedKeyGroups = ownedKeyGroups
        self.ttlMs = ttlMs
        self.timeIndex = timeIndex
        self.clock = clock
        self.lastSweepMs = clock.nowMs()
        self.outputSchema = Schema(key.fields + aggregates.map(\.outputField))
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        let hashes = key.hashes(batch)
        var slots = SlotTable(aggregateCount: aggregates.count, expected: 256)
        let times = timeIndex.map { batch.columns[$0] }
        for row in 0..<batch.count {
            let s = slots.slot(hash: hashes[row], namespace: 0, row: row, batch: batch, key: key)
            let t = times.map { $0.isValid(row) ? $0.int64s[row] : 0 } ?? Int64(row)
            for a in aggregates.indices { aggregates[a].update(&slots.accumulators[s][a], batch, row: row, ts: t) }
        }
        guard slots.count > 0 else { return }
        let now = clock.nowMs()
        let keys = slots.stateKeys(batch, key: key, keyGroups: keyGroups)
        let existing = try table.multiGet(keys)
        var write = StateWriteBatch()
        var columns = outputSchema.fields.map { Column(type: $0.type) }
        let base = key.fields.count
        for s in 0..<slots.count {
            var accs = slots.accumulators[s]
            if let old = existing[s] {
                let (stored, updatedAt) = try AccumulatorCodec.decode(old, count: aggregates.count)
                if ttlMs.map({ now - updatedAt < $0 }) ?? true {
                    var merged = stored
                    for a in aggregates.indices { aggregates[a].merge(&merged[a], accs[a]) }
                    accs = merged
                }
            }
            write.put(keys[s], AccumulatorCodec.encode(accs, extra: now))
            key.decode(StateKey.key(of: keys[s]), into: &columns)
            for (a, agg) in aggregates.enumerated() { agg.output(accs[a], into: &columns[base + a]) }
        }
        try table.write(write)
        out.emit(Batch(schema: outputSchema, columns: columns))
        try sweepIfDue(now: now)
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        try sweepIfDue(now: clock.nowMs())
    }

    /// Takes over a new key-group range at a barrier: no state moves; the sweep schedule stays.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) { ownedKeyGroups = range }

    private func sweepIfDue(now: Int64) throws(StreamError) {
        guard let ttl = ttlMs, now - lastSweepMs >= max(1, ttl / 2) else { return }
        lastSweepMs = now
        try deleteExpired(table, keyGroups: ownedKeyGroups, now: now, ttl: ttl)
    }
}

/// Drops rows whose key was already seen within `ttl` of event time (or of processing time when the source
/// has no event time). State per key holds the time it was last kept; a sweep on the watermark removes keys
/// older than the TTL.
public final class DedupeOperator: KeyedStreamOperator {
    let key: KeyColumns
    let table: any KeyedStateTable
    let keyGroups: KeyGroups
    let ttlMs: Int64
    let timeIndex: Int?
    let clock: any StreamClock
    public let outputSchema: Schema
    private var ownedKeyGroups: Range<Int>
    private var lastSweep: Int64 = .min
    private var duplicates: Int64 = 0

    public init(
        key: KeyColumns, schema: Schema, table: any KeyedStateTable, keyGroups: KeyGroups, ownedKeyGroups: Range<Int>,
        ttlMs: Int64, timeIndex: Int?, clock: any StreamClock
    ) {
        self.key = key
        self.table = table
        self.keyGroups = keyGroups
        self.ownedKeyGroups = ownedKeyGroups
        self.ttlMs = ttlMs
        self.timeIndex = timeIndex
        self.clock = clock
        self.outputSchema = schema
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        let hashes = key.hashes(batch)
        var slots = SlotTable(aggregateCount: 0, expected: 256)
        var rowsOfSlot: [[Int]] = []
        for row in 0..<batch.count {
            let s = slots.slot(hash: hashes[row], namespace: 0, row: row, batch: batch, key: key)
            if s == rowsOfSlot.count { rowsOfSlot.append([]) }
            rowsOfSlot[s].append(row)
        }
        guard slots.count > 0 else { return }
        let keys = slots.stateKeys(batch, key: key, keyGroups: keyGroups)
        let existing = try table.multiGet(keys)
        let now = clock.nowMs()
        let times = timeIndex.map { batch.columns[$0] }
        var keep = [Bool](repeating: false, count: batch.count)
        var write = StateWriteBatch()
        for s in 0..<slots.count {
            var seen: Int64? = try existing[s].map { v throws(StreamError) in
                try AccumulatorCodec.decode(v, count: 0).extra
            }
            var changed = false
            for row in rowsOfSlot[s] {
                let t = times.map { $0.isValid(row) ? $0.int64s[row] : now } ?? now
                if let last = seen, abs(t - last) < ttlMs {
                    duplicates += 1
                    continue
                }
                keep[row] = true
                seen = t
                changed = true
            }
            if changed, let seen { write.put(keys[s], AccumulatorCodec.encode([], extra: seen)) }
        }
        if !write.isEmpty { try table.write(write) }
        out.emit(batch.selecting(keep))
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        let now = timeIndex == nil ? clock.nowMs() : watermark
        guard lastSweep == .min || now - lastSweep >= max(1, ttlMs / 2) else {
            if lastSweep == .min { lastSweep = now }
            return
        }
        lastSweep = now
        try deleteExpired(table, keyGroups: ownedKeyGroups, now: now, ttl: ttlMs)
    }

    /// Takes over a new key-group range at a barrier: no state moves; the sweep schedule stays.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) { ownedKeyGroups = range }

    public func metrics() -> [String: Int64] { ["duplicates_dropped": duplicates] }
}

/// Deletes entries of `keyGroups` whose stored time (the accumulator layout's extra word) is `ttl` or more
/// before `now`: the TTL sweep of the running aggregate and dedupe.
func deleteExpired(_ table: any KeyedStateTable, keyGroups: Range<Int>, now: Int64, ttl: Int64) throws(StreamError) {
    var write = StateWriteBatch()
    try table.scan(keyGroups: keyGroups) { (k: [UInt8], v: [UInt8]) throws(StreamError) -> Bool in
        if now - (try AccumulatorCodec.decode(v, count: 0).extra) >= ttl { write.delete(k) }
        return true
    }
    if !write.isEmpty { try table.write(write) }
}
