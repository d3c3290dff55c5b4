/// Keyed state storage. StreamCore defines it; the in-memory backend lives here and RocksDB in StreamState.
///
/// Keys are laid out `keyGroup (2 bytes, big-endian) | namespace (8 bytes, big-endian, sign-flipped) | key
/// bytes` (see `StateKey`), so a worker's state is the contiguous key-group range it owns, and within a key
/// group the entries of one namespace (a window end, a timer's time bucket) are contiguous: a firing seeks
/// straight to them. Operators pre-aggregate a batch in memory, then read with one `multiGet` and write
/// with one `write`.
public protocol KeyedStateBackend: AnyObject, Sendable {
    /// The table of one stateful operator (a RocksDB column family), created when missing.
    func table(named name: String) throws(StreamError) -> any KeyedStateTable
    /// Native memory and size figures for the metrics snapshot (name → value).
    func metrics() -> [String: Int64]
    /// Flushes and closes; tables must not be used afterwards.
    func close() throws(StreamError)
    /// Captures every table at this instant into the empty directory `directory` (RocksDB: a hard-link
    /// checkpoint) and returns the files written, relative to it. Callers make sure no worker writes
    /// meanwhile.
    func snapshot(into directory: String) throws(StreamError) -> [String]
}

extension KeyedStateBackend {
    public func metrics() -> [String: Int64] { [:] }
    public func close() throws(StreamError) {}
    public func snapshot(into directory: String) throws(StreamError) -> [String] {
        throw StreamError(.checkpoint, "this state backend cannot be checkpointed")
    }
}

/// One operator's keyed state. Safe to call from several workers at once as long as each touches only
/// the key groups it owns.
public protocol KeyedStateTable: AnyObject, Sendable {
    /// Values for `keys`, nil where absent, in the same order.
    func multiGet(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?]
    /// Applies puts, deletes and namespace removals atomically.
    func write(_ batch: StateWriteBatch) throws(StreamError)
    /// Visits every entry in the key groups `keyGroups` (RocksDB: in key order; memory: any order);
    /// `body` returns false to stop. Do not write to the table from `body`. For recovery and tests: the
    /// hot path reads by namespace.
    func scan(keyGroups: Range<Int>, _ body: (_ key: [UInt8], _ value: [UInt8]) throws(StreamError) -> Bool)
        throws(StreamError)
    /// Visits the entries of key group `keyGroup` whose namespace is in `namespaces` (RocksDB: one seek,
    /// then in key order; memory: namespaces in order, keys in any order). Returns how many entries the
    /// store stepped over to do it, deleted and overwritten versions included: the cost of the read.
    @discardableResult
    func scan(
        keyGroup: Int, namespaces: ClosedRange<Int64>,
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws(StreamError) -> Bool
    ) throws(StreamError) -> Int
    /// The distinct namespaces that hold entries in `keyGroups`, ascending (RocksDB seeks from one
    /// namespace to the next, so the cost is the number of namespaces, not of entries).
    func namespaces(keyGroups: Range<Int>) throws(StreamError) -> [Int64]
    /// Entries in the table (exact for memory, RocksDB's estimate otherwise).
    func approximateCount() throws(StreamError) -> Int
}

/// Puts and deletes applied together.
public struct StateWriteBatch: Sendable {
    public enum Operation: Sendable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
        /// Every entry of `namespace` in `keyGroup` (RocksDB: one DeleteRange, not a tombstone per key).
        case deleteNamespace(keyGroup: Int, namespace: Int64)
    }
    public var operations: [Operation] = []
    public init() {}
    public var isEmpty: Bool { operations.isEmpty }
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) { operations.append(.put(key: key, value: value)) }
    public mutating func delete(_ key: [UInt8]) { operations.append(.delete(key: key)) }
    public mutating func deleteNamespace(_ namespace: Int64, keyGroup: Int) {
        operations.append(.deleteNamespace(keyGroup: keyGroup, namespace: namespace))
    }
}

/// Encoding of state keys: `keyGroup | namespace | key`.
public enum StateKey {
    /// Bytes before the key: the key group (2) and the namespace (8).
    public static let prefixCount = 10

    public static func encode(keyGroup: Int, key: [UInt8], namespace: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(key.count + prefixCount)
        appendPrefix(keyGroup: keyGroup, namespace: namespace, &out)
        out.append(contentsOf: key)
        return out
    }

    /// Appends `keyGroup | namespace`, the bytes every key of that namespace in that key group starts with.
    @inline(__always)
    public static func appendPrefix(keyGroup: Int, namespace: Int64, _ out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: keyGroup >> 8))
        out.append(UInt8(truncatingIfNeeded: keyGroup))
        // Flip the sign bit so that negative namespaces sort before positive ones.
        appendBE(UInt64(bitPattern: namespace) ^ (1 << 63), &out)
    }

    /// `keyGroup | namespace` alone.
    public static func prefix(keyGroup: Int, namespace: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(prefixCount)
        appendPrefix(keyGroup: keyGroup, namespace: namespace, &out)
        return out
    }

    public static func keyGroup<C: Collection<UInt8>>(of encoded: C) -> Int where C.Index == Int {
        Int(encoded[encoded.startIndex]) << 8 | Int(encoded[encoded.startIndex + 1])
    }

    public static func namespace<C: Collection<UInt8>>(of encoded: C) -> Int64 where C.Index == Int {
        Int64(bitPattern: readBE(encoded, at: encoded.startIndex + 2) ^ (1 << 63))
    }

    public static func key(of encoded: [UInt8]) -> ArraySlice<UInt8> { encoded[prefixCount...] }
}
