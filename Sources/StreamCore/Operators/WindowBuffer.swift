/// The accumulators of the windows a worker updated recently, by state key (`keyGroup | windowEnd | key`):
/// updated in place row after row, and written to the table only when flushed (at a barrier, when over
/// capacity, before a rescale, or when a window fires and must stay for allowed lateness). A window that
/// opens and fires between two flushes never reaches the table. The table stays the truth for what is
/// not here: an entry is added from the table's value, and dropped only after it was written.
///
/// Laid out for the per-row path: an open-addressing index of entry ids (linear probing, deletion by
/// backward shift, so no tombstones slow later probes), key bytes in one arena, accumulators in one
/// flat array (`aggregateCount` per entry). Finding a row's entry hashes and compares the key bytes in
/// place: no allocation, no `Hasher`, no reference counting per row. An entry costs one arena range and
/// one index slot; a window's entries are taken out together when it fires.
struct WindowBuffer {
    /// An entry taken out of the buffer (a firing, an eviction, an expiry).
    struct Taken {
        var key: [UInt8]
        var accs: [Accumulator]
        /// Changed since it was last written.
        var dirty: Bool
        /// The table holds a version of it (removing the window must delete it there too).
        var stored: Bool
    }

    private static let dirtyFlag: UInt8 = 1
    private static let storedFlag: UInt8 = 2
    /// The entry's window had fired when the entry was made: every update is a late update to re-fire.
    private static let firedWindowFlag: UInt8 = 4
    private static let liveFlag: UInt8 = 8
    private static let empty: Int32 = -1

    let capacityBytes: Int
    let aggregateCount: Int

    private var index: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var keyStart: [Int] = []
    private var keyCount: [Int32] = []
    private var ends: [Int64] = []
    private var flags: [UInt8] = []
    /// `aggregateCount` accumulators per entry id; updated in place by the operator.
    var accumulators: [Accumulator] = []
    private var freeIDs: [Int32] = []
    private var arena: [UInt8] = []
    private var arenaGarbage = 0
    private var idsByEnd: [Int64: [Int32]] = [:]
    /// Window end → key groups whose entries of that window may be in the table (written by a flush, or
    /// found in state at a restart): only there does a key the buffer lacks need a table read.
    private var stored: [Int64: Set<Int>] = [:]
    private(set) var count = 0
    private(set) var bytes = 0
    var hits: Int64 = 0
    var misses: Int64 = 0

    /// Index slot, flags, hash, arena range, end and accumulators per entry, measured roughly.
    static let entryOverhead = 64

    init(capacityBytes: Int, aggregateCount: Int) {
        self.capacityBytes = max(0, capacityBytes)
        self.aggregateCount = aggregateCount
        index = [Int32](repeating: Self.empty, count: 1024)
        mask = 1023
    }

    var isOverCapacity: Bool { bytes > capacityBytes }

    /// Whether the table may hold entries of window `end` in `keyGroup`.
    func mayBeStored(end: Int64, keyGroup: Int) -> Bool { stored[end]?.contains(keyGroup) == true }

    /// Marks window `end` in `keyGroup` as possibly in the table (state found at a restart or a rescale).
    mutating func noteStored(end: Int64, keyGroup: Int) { stored[end, default: []].insert(keyGroup) }

    /// Forgets window `end` (fired and removed).
    mutating func forget(end: Int64) { stored.removeValue(forKey: end) }

    // MARK: the per-row path

    /// The id of the entry with state key `key` (hashed by `WindowBuffer.hash`), or -1.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32 {
        var p = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBytes { arenaBytes in
            index.withUnsafeBufferPointer { slots in
                while true {
                    let id = slots[p]
                    if id == Self.empty { return Self.empty }
                    let e = Int(id)
                    if hashes[e] == hash && Int(keyCount[e]) == key.count
                        && memcmp(arenaBytes.baseAddress! + keyStart[e], key.baseAddress!, key.count) == 0
                    {
                        return id
                    }
                    p = (p + 1) & mask
                }
            }
        }
    }

    /// The id of the entry with the state key in `scratch`, or -1.
    @inline(__always)
    func find(_ scratch: StateKeyScratch) -> Int32 {
        scratch.withBytes { find($0, hash: Self.hash($0)) }
    }

    /// Adds an entry for the state key in `scratch`; returns its id.
    @inline(__always)
    mutating func insert(_ scratch: StateKeyScratch, end: Int64, firedWindow: Bool) -> Int32 {
        scratch.withBytes { insert($0, hash: Self.hash($0), end: end, firedWindow: firedWindow) }
    }

    /// Adds an entry for `key` in window `end` with empty accumulators; returns its id.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, end: Int64, firedWindow: Bool) -> Int32 {
        if (count + 1) * 2 > index.count { growIndex() }
        let id: Int32
        let flag = Self.liveFlag | (firedWindow ? Self.firedWindowFlag : 0)
        if let reused = freeIDs.popLast() {
            id = reused
            let e = Int(id)
            hashes[e] = hash
            keyStart[e] = arena.count
            keyCount[e] = Int32(key.count)
            ends[e] = end
            flags[e] = flag
            for a in 0..<aggregateCount { accumulators[e * aggregateCount + a] = Accumulator() }
        } else {
            id = Int32(hashes.count)
            hashes.append(hash)
            keyStart.append(arena.count)
            keyCount.append(Int32(key.count))
            ends.append(end)
            flags.append(flag)
            for _ in 0..<aggregateCount { accumulators.append(Accumulator()) }
        }
        arena.append(contentsOf: key)
        var p = Int(truncatingIfNeeded: hash) & mask
        while index[p] != Self.empty { p = (p + 1) & mask }
        index[p] = id
        idsByEnd[end, default: []].append(id)
        count += 1
        bytes += key.count + aggregateCount * 48 + Self.entryOverhead
        return id
    }

    @inline(__always)
    mutating func markDirty(_ id: Int32) { flags[Int(id)] |= Self.dirtyFlag }

    @inline(__always)
    func isFiredWindow(_ id: Int32) -> Bool { flags[Int(id)] & Self.firedWindowFlag != 0 }

    /// Merges the table's version of entry `id` (read after the batch made the entry) under it.
    mutating func mergeStored(_ id: Int32, _ old: [Accumulator], aggregates: [BoundAggregate]) {
        var merged = old
        let base = Int(id) * aggregateCount
        for a in aggregates.indices { aggregates[a].merge(&merged[a], accumulators[base + a]) }
        for a in aggregates.indices { accumulators[base + a] = merged[a] }
        flags[Int(id)] |= Self.storedFlag
    }

    /// The state key of entry `id`.
    func key(_ id: Int32) -> [UInt8] {
        let e = Int(id)
        return Array(arena[keyStart[e]..<(keyStart[e] + Int(keyCount[e]))])
    }

    func accumulators(_ id: Int32) -> [Accumulator] {
        let base = Int(id) * aggregateCount
        return Array(accumulators[base..<(base + aggregateCount)])
    }

    /// The accumulators held for state key `key`, or nil.
    func accumulators(ofKey key: [UInt8]) -> [Accumulator]? {
        key.withUnsafeBytes { raw in
            let id = find(raw, hash: Self.hash(raw))
            return id == Self.empty ? nil : accumulators(id)
        }
    }

    /// The in-memory hash of a state key: eight bytes a step (it is never persisted, so it is free to
    /// differ from the key-group hash).
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = KeyHash.mix(h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        return KeyHash.mix(h ^ tail ^ 0x5bd1_e995)
    }

    // MARK: whole windows

    /// Takes window `end`'s entries out of the buffer.
    mutating func take(end: Int64) -> [Taken] {
        guard let ids = idsByEnd.removeValue(forKey: end) else { return [] }
        var out: [Taken] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            let f = flags[Int(id)]
            out.append(
                Taken(
                    key: key(id), accs: accumulators(id), dirty: f & Self.dirtyFlag != 0,
                    stored: f & Self.storedFlag != 0))
            remove(id)
        }
        compactArenaIfWasteful()
        return out
    }

    /// Puts an entry's value into `write` and remembers that its window's key group is in the table.
    private mutating func write(_ key: [UInt8], _ accs: [Accumulator], end: Int64, into write: inout StateWriteBatch) {
        write.put(key, AccumulatorCodec.encode(accs))
        stored[end, default: []].insert(StateKey.keyGroup(of: key))
    }

    /// Puts the dirty entries into `write`; then drops every entry (`drop`) or keeps them, clean.
    mutating func flush(into write: inout StateWriteBatch, drop: Bool) {
        for (end, ids) in idsByEnd {
            for id in ids where flags[Int(id)] & Self.dirtyFlag != 0 {
                self.write(key(id), accumulators(id), end: end, into: &write)
                flags[Int(id)] = (flags[Int(id)] & ~Self.dirtyFlag) | Self.storedFlag
            }
        }
        if drop { removeEntries() }
    }

    /// Over capacity: writes and drops whole windows, the latest ends first, until a quarter of the
    /// capacity is free again (emptying it all would make the worker read its hot windows back).
    mutating func evict(into write: inout StateWriteBatch) {
        for end in idsByEnd.keys.sorted(by: >) {
            guard bytes > capacityBytes - capacityBytes / 4 else { break }
            for e in take(end: end) where e.dirty { self.write(e.key, e.accs, end: end, into: &write) }
        }
    }

    /// Drops every entry and what it knows of the table (before a reassignment reloads it).
    mutating func removeAll() {
        removeEntries()
        stored.removeAll()
    }

    // MARK: storage

    private mutating func removeEntries() {
        index = [Int32](repeating: Self.empty, count: 1024)
        mask = 1023
        hashes.removeAll()
        keyStart.removeAll()
        keyCount.removeAll()
        ends.removeAll()
        flags.removeAll()
        accumulators.removeAll()
        freeIDs.removeAll()
        arena.removeAll()
        arenaGarbage = 0
        idsByEnd.removeAll()
        count = 0
        bytes = 0
    }

    /// Removes entry `id` from the index (backward shift: the probe sequences stay unbroken) and frees it.
    private mutating func remove(_ id: Int32) {
        let e = Int(id)
        var hole = Int(truncatingIfNeeded: hashes[e]) & mask
        while index[hole] != id { hole = (hole + 1) & mask }
        var j = hole
        while true {
            j = (j + 1) & mask
            let other = index[j]
            if other == Self.empty { break }
            let home = Int(truncatingIfNeeded: hashes[Int(other)]) & mask
            // `other` may fill the hole unless its home lies cyclically in (hole, j].
            let homeBetween = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !homeBetween {
                index[hole] = other
                hole = j
            }
        }
        index[hole] = Self.empty
        bytes -= Int(keyCount[e]) + aggregateCount * 48 + Self.entryOverhead
        arenaGarbage += Int(keyCount[e])
        flags[e] = 0
        for a in 0..<aggregateCount { accumulators[e * aggregateCount + a] = Accumulator() }
        freeIDs.append(id)
        count -= 1
    }

    private mutating func growIndex() {
        let capacity = index.count * 2
        index = [Int32](repeating: Self.empty, count: capacity)
        mask = capacity - 1
        for e in hashes.indices where flags[e] & Self.liveFlag != 0 {
            var p = Int(truncatingIfNeeded: hashes[e]) & mask
            while index[p] != Self.empty { p = (p + 1) & mask }
            index[p] = Int32(e)
        }
    }

    /// Copies the live keys into a new arena once most of it belongs to removed entries.
    private mutating func compactArenaIfWasteful() {
        guard arenaGarbage > 1 << 16, arenaGarbage * 2 > arena.count else { return }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - arenaGarbage)
        for e in hashes.indices where flags[e] & Self.liveFlag != 0 {
            let start = fresh.count
            fresh.append(contentsOf: arena[keyStart[e]..<(keyStart[e] + Int(keyCount[e]))])
            keyStart[e] = start
        }
        arena = fresh
        arenaGarbage = 0
    }
}

#if canImport(Glibc)
    import Glibc
#endif
