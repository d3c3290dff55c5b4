/// A keyed aggregate over all time ("state forever"), emitting each key's updated value once per batch
/// in which it changed. With a TTL, a key not updated for `ttl` (processing time) starts over, and a timer
/// (`KeyTimers`, set when the key's expiry moves to a later bucket) removes its state once it expired.
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
    private var timers: KeyTimers
    /// Timers of the owned key groups are read from state on first use (the initializer cannot throw).
    private var timersLoaded = false
    private var timerEntriesVisited: Int64 = 0
    private var expired: Int64 = 0

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
        self.outputSchema = Schema(key.fields + aggregates.map(\.outputField))
        self.timers = KeyTimers(granularityMs: (ttlMs ?? 0) / KeyTimers.ttlBuckets)
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        if !timersLoaded, ttlMs != nil { try loadTimers() }
        let hashes = key.hashes(batch)
        var slots = SlotTable(aggregateCount: aggregates.count, expected: 256)
        let times = timeIndex.map { batch.columns[$0] }
        for row in 0..<batch.count {
            let s = slots.slot(hash: hashes[row], namespace: KeyTimers.stateNamespace, row: row, batch: batch, key: key)
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
            var expiryBefore: Int64? = nil
            if let old = existing[s] {
                let (stored, updatedAt) = try AccumulatorCodec.decode(old, count: aggregates.count)
                if ttlMs.map({ now - updatedAt < $0 }) ?? true {
                    var merged = stored
                    for a in aggregates.indices { aggregates[a].merge(&merged[a], accs[a]) }
                    accs = merged
                    expiryBefore = ttlMs.map { timers.bucket(updatedAt + $0) }
                }
            }
            write.put(keys[s], AccumulatorCodec.encode(accs, extra: now))
            if let ttl = ttlMs, expiryBefore != timers.bucket(now + ttl) {
                timers.set(
                    at: now + ttl, keyGroup: keyGroups.keyGroup(hash: slots.hashes[s]), key: StateKey.key(of: keys[s]),
                    into: &write)
            }
            key.decode(StateKey.key(of: keys[s]), into: &columns)
            for (a, agg) in aggregates.enumerated() { agg.output(accs[a], into: &columns[base + a]) }
        }
        try table.write(write)
        out.emit(Batch(schema: outputSchema, columns: columns))
        try sweep(now: now)
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        try sweep(now: clock.nowMs())
    }

    /// Removes the keys whose expiry timers are due and that were not updated since.
    private func sweep(now: Int64) throws(StreamError) {
        guard let ttl = ttlMs else { return }
        if !timersLoaded { try loadTimers() }
        guard let next = timers.next, next <= now else { return }
        expired += try removeExpired(
            &timers, table: table, now: now, ttl: ttl, aggregateCount: aggregates.count, visited: &timerEntriesVisited)
    }

    public func metrics() -> [String: Int64] {
        [
            "timers_pending": Int64(timers.pendingBuckets), "timer_entries_visited": timerEntriesVisited,
            "keys_expired": expired,
        ]
    }

    /// Takes over a new key-group range at a barrier: no state moves; the expiry timers of the new
    /// range come from state.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) {
        ownedKeyGroups = range
        if ttlMs != nil { try loadTimers() }
    }

    private func loadTimers() throws(StreamError) {
        try timers.load(from: table, keyGroups: ownedKeyGroups)
        timersLoaded = true
    }
}

/// Drops rows whose key was already seen within `ttl` of event time (or of processing time when the source
/// has no event time). State per key holds the time it was last kept; an expiry timer per key
/// (`KeyTimers`) removes it once that time is `ttl` behind the watermark.
public final class DedupeOperator: KeyedStreamOperator {
    let key: KeyColumns
    let table: any KeyedStateTable
    let keyGroups: KeyGroups
    let ttlMs: Int64
    let timeIndex: Int?
    let clock: any StreamClock
    public let outputSchema: Schema
    private var ownedKeyGroups: Range<Int>
    private var timers: KeyTimers
    /// Timers of the owned key groups are read from state on first use (the initializer cannot throw).
    private var timersLoaded = false
    private var timerEntriesVisited: Int64 = 0
    private var expired: Int64 = 0
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
        self.timers = KeyTimers(granularityMs: ttlMs / KeyTimers.ttlBuckets)
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        if !timersLoaded { try loadTimers() }
        let hashes = key.hashes(batch)
        var slots = SlotTable(aggregateCount: 0, expected: 256)
        var rowsOfSlot: [[Int]] = []
        for row in 0..<batch.count {
            let s = slots.slot(hash: hashes[row], namespace: KeyTimers.stateNamespace, row: row, batch: batch, key: key)
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
            if changed, let seen {
                write.put(keys[s], AccumulatorCodec.encode([], extra: seen))
                timers.set(
                    at: seen + ttlMs, keyGroup: keyGroups.keyGroup(hash: slots.hashes[s]),
                    key: StateKey.key(of: keys[s]), into: &write)
            }
        }
        if !write.isEmpty { try table.write(write) }
        out.emit(batch.selecting(keep))
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        let now = timeIndex == nil ? clock.nowMs() : watermark
        if !timersLoaded { try loadTimers() }
        guard let next = timers.next, next <= now else { return }
        expired += try removeExpired(
            &timers, table: table, now: now, ttl: ttlMs, aggregateCount: 0, visited: &timerEntriesVisited)
    }

    /// Takes over a new key-group range at a barrier: no state moves; the expiry timers of the new
    /// range come from state.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) {
        ownedKeyGroups = range
        try loadTimers()
    }

    private func loadTimers() throws(StreamError) {
        try timers.load(from: table, keyGroups: ownedKeyGroups)
        timersLoaded = true
    }

    public func metrics() -> [String: Int64] {
        [
            "duplicates_dropped": duplicates, "timers_pending": Int64(timers.pendingBuckets),
            "timer_entries_visited": timerEntriesVisited, "keys_expired": expired,
        ]
    }
}

/// Takes the expiry timers due at `now` and deletes the keys they name whose stored time (the
/// accumulator layout's extra word) is `ttl` or more before `now`; keys updated since keep their later
/// timer. The TTL expiry of the running aggregate and dedupe. Returns how many keys were deleted.
func removeExpired(
    _ timers: inout KeyTimers, table: any KeyedStateTable, now: Int64, ttl: Int64, aggregateCount: Int,
    visited: inout Int64
) throws(StreamError) -> Int64 {
    var write = StateWriteBatch()
    let keys = try timers.takeDue(upTo: now, from: table, into: &write, visited: &visited)
    var deleted: Int64 = 0
    for (k, v) in zip(keys, try table.multiGet(keys)) {
        guard let v else { continue }
        if now - (try AccumulatorCodec.decode(v, count: aggregateCount).extra) >= ttl {
            write.delete(k)
            deleted += 1
        }
    }
    visited += Int64(keys.count)
    if !write.isEmpty { try table.write(write) }
    return deleted
}
