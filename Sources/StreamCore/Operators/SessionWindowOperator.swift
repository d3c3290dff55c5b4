/// Event-time session windows: a key's rows closer than `gap` belong to one session. State per key
/// (`keyGroup | KeyTimers.stateNamespace | key`) holds the key's open sessions, merged as rows arrive; a
/// session fires when the watermark passes its end (last row + gap) plus the allowed lateness, and is then
/// deleted. A timer per key (`KeyTimers`, exact to the millisecond) marks when its earliest session is
/// due, so a firing reads only the keys that fire.
public final class SessionWindowOperator: KeyedStreamOperator {
    struct Session {
        var start: Int64
        var end: Int64
        var accs: [Accumulator]
    }

    let key: KeyColumns
    let timeIndex: Int
    let gapMs: Int64
    let aggregates: [BoundAggregate]
    let table: any KeyedStateTable
    let keyGroups: KeyGroups
    let allowedLatenessMs: Int64
    let lateOutput: (@Sendable (Batch) -> Void)?
    public let outputSchema: Schema
    private var ownedKeyGroups: Range<Int>
    private var watermark: Int64 = .min
    private var timers = KeyTimers(granularityMs: 1)
    private var timerEntriesVisited: Int64 = 0
    private var sessionsFired: Int64 = 0
    private var lateRows: Int64 = 0

    public init(
        key: KeyColumns, timeIndex: Int, gapMs: Int64, aggregates: [BoundAggregate], table: any KeyedStateTable,
        keyGroups: KeyGroups, ownedKeyGroups: Range<Int>, allowedLatenessMs: Int64,
        lateOutput: (@Sendable (Batch) -> Void)? = nil
    ) throws(StreamError) {
        self.key = key
        self.timeIndex = timeIndex
        self.gapMs = gapMs
        self.aggregates = aggregates
        self.table = table
        self.keyGroups = keyGroups
        self.ownedKeyGroups = ownedKeyGroups
        self.allowedLatenessMs = allowedLatenessMs
        self.lateOutput = lateOutput
        self.outputSchema = WindowOperator.outputSchema(key: key, aggregates: aggregates)
        try timers.load(from: table, keyGroups: ownedKeyGroups)
    }

    /// Takes over a new key-group range at a barrier: no state moves; the watermark stays and the
    /// session timers of the new range come from state.
    public func reassign(keyGroups range: Range<Int>, watermark: Int64) throws(StreamError) {
        ownedKeyGroups = range
        self.watermark = max(self.watermark, watermark)
        try timers.load(from: table, keyGroups: range)
    }

    /// When a key's earliest session is due.
    private func dueTime(_ sessions: [Session]) -> Int64? {
        sessions.map(\.end).min().map { $0 - 1 + allowedLatenessMs }
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        let hashes = key.hashes(batch)
        let times = batch.columns[timeIndex]
        // Rows of the batch grouped by key (slot), in arrival order.
        var slots = SlotTable(aggregateCount: 0, expected: 64)
        var rowsOfSlot: [[Int]] = []
        var late: [Int] = []
        for row in 0..<batch.count {
            guard times.isValid(row), times.int64s[row] + gapMs - 1 + allowedLatenessMs > watermark else {
                late.append(row)
                continue
            }
            let s = slots.slot(hash: hashes[row], namespace: KeyTimers.stateNamespace, row: row, batch: batch, key: key)
            if s == rowsOfSlot.count { rowsOfSlot.append([]) }
            rowsOfSlot[s].append(row)
        }
        if !late.isEmpty {
            lateRows += Int64(late.count)
            lateOutput?(batch.gather(late))
        }
        guard slots.count > 0 else { return }
        let keys = slots.stateKeys(batch, key: key, keyGroups: keyGroups)
        let existing = try table.multiGet(keys)
        var write = StateWriteBatch()
        for s in 0..<slots.count {
            var sessions = try existing[s].map { v throws(StreamError) in try decodeSessions(v) } ?? []
            let dueBefore = dueTime(sessions)
            for row in rowsOfSlot[s] {
                let t = times.int64s[row]
                var merged = Session(
                    start: t, end: t + gapMs, accs: Array(repeating: Accumulator(), count: aggregates.count))
                for a in aggregates.indices { aggregates[a].update(&merged.accs[a], batch, row: row, ts: t) }
                // Fold every session that overlaps the new one into it.
                sessions.removeAll { other in
                    guard other.start <= merged.end && merged.start <= other.end else { return false }
                    merged.start = min(merged.start, other.start)
                    merged.end = max(merged.end, other.end)
                    for a in aggregates.indices { aggregates[a].merge(&merged.accs[a], other.accs[a]) }
                    return true
                }
                sessions.append(merged)
            }
            if let due = dueTime(sessions), due != dueBefore {
                timers.set(
                    at: due, keyGroup: keyGroups.keyGroup(hash: slots.hashes[s]), key: StateKey.key(of: keys[s]),
                    into: &write)
            }
            write.put(keys[s], encodeSessions(sessions))
        }
        try table.write(write)
    }

    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {
        self.watermark = watermark
        if let next = timers.next, next <= watermark { try fire(upTo: watermark, into: &out) }
    }

    public func finish(into out: inout Output) throws(StreamError) {
        watermark = .max
        try fire(upTo: .max, into: &out)
    }

    private func fire(upTo wm: Int64, into out: inout Output) throws(StreamError) {
        var due: [(key: [UInt8], session: Session)] = []
        var write = StateWriteBatch()
        let keys = try timers.takeDue(upTo: wm, from: table, into: &write, visited: &timerEntriesVisited)
        for (k, value) in zip(keys, try table.multiGet(keys)) {
            guard let value else { continue }
            var sessions = try decodeSessions(value)
            let before = sessions.count
            sessions.removeAll { s in
                guard wm == .max || s.end - 1 + allowedLatenessMs <= wm else { return false }
                due.append((k, s))
                return true
            }
            if sessions.isEmpty {
                write.delete(k)
            } else {
                // The key's next session gets its timer (an earlier one may have been taken just now).
                if let next = dueTime(sessions) {
                    timers.set(at: next, keyGroup: StateKey.keyGroup(of: k), key: StateKey.key(of: k), into: &write)
                }
                if sessions.count != before { write.put(k, encodeSessions(sessions)) }
            }
        }
        timerEntriesVisited += Int64(keys.count)
        sessionsFired += Int64(due.count)
        if !write.isEmpty { try table.write(write) }
        guard !due.isEmpty else { return }
        due.sort {
            $0.session.end != $1.session.end
                ? $0.session.end < $1.session.end : $0.key.lexicographicallyPrecedes($1.key)
        }
        var columns = outputSchema.fields.map { Column(type: $0.type) }
        let base = key.fields.count
        for d in due {
            key.decode(StateKey.key(of: d.key), into: &columns)
            columns[base].int64s.append(d.session.start)
            columns[base].markLastValid()
            columns[base + 1].int64s.append(d.session.end)
            columns[base + 1].markLastValid()
            for (a, agg) in aggregates.enumerated() { agg.output(d.session.accs[a], into: &columns[base + 2 + a]) }
        }
        out.emit(Batch(schema: outputSchema, columns: columns))
    }

    /// Layout: count(4), then per session start(8) end(8) len(4) accumulators.
    private func encodeSessions(_ sessions: [Session]) -> [UInt8] {
        var out: [UInt8] = []
        appendBE32(UInt32(sessions.count), &out)
        for s in sessions {
            appendBE(UInt64(bitPattern: s.start), &out)
            appendBE(UInt64(bitPattern: s.end), &out)
            let accs = AccumulatorCodec.encode(s.accs)
            appendBE32(UInt32(accs.count), &out)
            out.append(contentsOf: accs)
        }
        return out
    }

    private func decodeSessions(_ v: [UInt8]) throws(StreamError) -> [Session] {
        guard v.count >= 4 else { throw StreamError(.state, "session state truncated") }
        let n = Int(readBE32(v, at: 0))
        var p = 4
        var out: [Session] = []
        for _ in 0..<n {
            guard p + 20 <= v.count else { throw StreamError(.state, "session state truncated") }
            let start = Int64(bitPattern: readBE(v, at: p))
            let end = Int64(bitPattern: readBE(v, at: p + 8))
            let len = Int(readBE32(v, at: p + 16))
            p += 20
            guard p + len <= v.count else { throw StreamError(.state, "session state truncated") }
            let accs = try AccumulatorCodec.decode(Array(v[p..<(p + len)]), count: aggregates.count).accs
            p += len
            out.append(Session(start: start, end: end, accs: accs))
        }
        return out
    }

    public func metrics() -> [String: Int64] {
        [
            "next_session_fire": timers.next ?? -1, "sessions_fired": sessionsFired,
            "timer_entries_visited": timerEntriesVisited,
        ]
    }

    public func takeLateRows() -> Int64 {
        defer { lateRows = 0 }
        return lateRows
    }
}
