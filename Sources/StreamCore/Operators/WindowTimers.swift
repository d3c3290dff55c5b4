/// The timer index of a window operator: which window ends hold state in which key group, and whether
/// they fired. Kept in the operator's own table under the reserved namespace `WindowTimers.namespace` as
/// `keyGroup | namespace | windowEnd (8 bytes)` → state (pending or fired), as Flink's timer service keeps
/// its timers in RocksDB, so a firing reads exactly the due windows of the key groups that hold them, and
/// a worker that takes over key groups (a rescale, a restart) finds their windows without a scan.
struct WindowTimers {
    /// Namespace of timer entries: below every window end (ends are `floor(t / slide) * slide + slide`).
    static let namespace = Int64.min

    enum State: UInt8 {
        /// The window has state in the key group and has not fired.
        case pending = 0
        /// It fired and stays for allowed lateness; removed when that passes.
        case fired = 1
    }

    /// Window end → key groups with a pending timer.
    private(set) var pending: [Int64: Set<Int>] = [:]
    /// Window end → key groups whose window fired and waits out allowed lateness.
    private(set) var fired: [Int64: Set<Int>] = [:]
    /// Pending timers not written to the table yet: written by `persist` (a barrier, a flush), so a window
    /// that opens and fires between two barriers costs its timer no put and no tombstone.
    private var unwritten: [Int64: Set<Int>] = [:]

    static func key(keyGroup: Int, end: Int64) -> [UInt8] {
        var k = StateKey.prefix(keyGroup: keyGroup, namespace: namespace)
        appendBE(UInt64(bitPattern: end), &k)
        return k
    }

    var pendingCount: Int { pending.count }

    /// Records that window `end` got state in `keyGroup`; writes the timer when it is new.
    @inline(__always)
    mutating func noteState(end: Int64, keyGroup: Int, into write: inout StateWriteBatch) {
        if let groups = fired[end] {
            // A late row within allowed lateness in a key group the window had no state in yet.
            if !groups.contains(keyGroup) {
                fired[end]!.insert(keyGroup)
                write.put(Self.key(keyGroup: keyGroup, end: end), [State.fired.rawValue])
            }
            return
        }
        if pending[end]?.contains(keyGroup) == true { return }
        pending[end, default: []].insert(keyGroup)
        unwritten[end, default: []].insert(keyGroup)
    }

    /// Writes the pending timers not in the table yet (before a snapshot, a rescale, a flush of state).
    mutating func persist(into write: inout StateWriteBatch) {
        for (end, groups) in unwritten {
            for g in groups { write.put(Self.key(keyGroup: g, end: end), [State.pending.rawValue]) }
        }
        unwritten.removeAll()
    }

    func isFired(_ end: Int64) -> Bool { fired[end] != nil }

    /// Pending ends at or before `watermark` + 1, in order.
    func due(watermark: Int64) -> [Int64] { pending.keys.filter { $0 - 1 <= watermark }.sorted() }

    /// Fired ends whose allowed lateness has passed.
    func expired(watermark: Int64, latenessMs: Int64) -> [Int64] {
        fired.keys.filter { $0 - 1 + latenessMs <= watermark }.sorted()
    }

    /// Marks `end` fired: kept (timer rewritten) when lateness remains, else removed.
    mutating func fire(end: Int64, keep: Bool, into write: inout StateWriteBatch) -> Set<Int> {
        let groups = pending.removeValue(forKey: end) ?? []
        let neverWritten = unwritten.removeValue(forKey: end) ?? []
        for g in groups {
            if keep {
                write.put(Self.key(keyGroup: g, end: end), [State.fired.rawValue])
            } else if !neverWritten.contains(g) {
                write.delete(Self.key(keyGroup: g, end: end))
            }
        }
        if keep { fired[end, default: []].formUnion(groups) }
        return groups
    }

    /// Drops a fired end whose lateness passed; returns its key groups.
    mutating func expire(end: Int64, into write: inout StateWriteBatch) -> Set<Int> {
        let groups = fired.removeValue(forKey: end) ?? []
        for g in groups { write.delete(Self.key(keyGroup: g, end: end)) }
        return groups
    }

    /// Reloads the timers of `keyGroups` from `table` (after a restart or a key-group reassignment).
    /// Returns how many entries were read.
    @discardableResult
    mutating func load(from table: any KeyedStateTable, keyGroups: Range<Int>) throws(StreamError) -> Int {
        pending.removeAll()
        fired.removeAll()
        unwritten.removeAll()
        var read = 0
        for g in keyGroups {
            read += try table.scan(keyGroup: g, namespaces: Self.namespace...Self.namespace) {
                (k: [UInt8], v: [UInt8]) throws(StreamError) -> Bool in
                guard k.count == StateKey.prefixCount + 8, let state = v.first.flatMap(State.init(rawValue:)) else {
                    throw StreamError(.state, "window timer entry has an unknown layout")
                }
                let end = Int64(bitPattern: readBE(k, at: StateKey.prefixCount))
                switch state {
                case .pending: pending[end, default: []].insert(g)
                case .fired: fired[end, default: []].insert(g)
                }
                return true
            }
        }
        return read
    }
}
