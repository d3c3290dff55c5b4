/// Keyed state storage. StreamCore defines it; the in-memory backend lives here and RocksDB in StreamState.
///
/// Keys are laid out `keyGroup (2 bytes, big-endian) | key bytes | namespace (8 bytes, big-endian)`
/// (see `StateKey`), so a worker's state is the contiguous key-group range it owns. Operators
/// pre-aggregate a batch in memory, then read with one `multiGet` and write with one `write`.
public protocol KeyedStateBackend: AnyObject, Sendable {
    /// The table of one stateful operator (a RocksDB column family), created when missing.
    func table(named name: String) throws(StreamError) -> any KeyedStateTable
    /// Native memory and size figures for the metrics snapshot (name → value).
    func metrics() -> [String: Int64]
    /// Flushes and closes; tables must not be used afterwards.
    func close() throws(StreamError)
}

extension KeyedStateBackend {
    public func metrics() -> [String: Int64] { [:] }
    public func close() throws(StreamError) {}
}

/// One operator's keyed state. Safe to call from several workers at once as long as each touches only
/// the key groups it owns.
public protocol KeyedStateTable: AnyObject, Sendable {
    /// Values for `keys`, nil where absent, in the same order.
    func multiGet(_ keys: [[UInt8]]) throws(StreamError) -> [[UInt8]?]
    /// Applies puts and deletes atomically.
    func write(_ batch: StateWriteBatch) throws(StreamError)
    /// Visits every entry in the key groups `keyGroups` (RocksDB: in key order; memory: any order);
    /// `body` returns false to stop. Do not write to the table from `body`.
    func scan(keyGroups: Range<Int>, _ body: (_ key: [UInt8], _ value: [UInt8]) throws(StreamError) -> Bool)
        throws(StreamError)
    /// Entries in the table (exact for memory, RocksDB's estimate otherwise).
    func approximateCount() throws(StreamError) -> Int
}

/// Puts and deletes applied together.
public struct StateWriteBatch: Sendable {
    public enum Operation: Sendable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
    }
    public var operations: [Operation] = []
    public init() {}
    public var isEmpty: Bool { operations.isEmpty }
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) { operations.append(.put(key: key, value: value)) }
    public mutating func delete(_ key: [UInt8]) { operations.append(.delete(key: key)) }
}

/// Encoding of state keys: `keyGroup | key | namespace`.
public enum StateKey {
    public static func encode(keyGroup: Int, key: [UInt8], namespace: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(key.count + 10)
        out.append(UInt8(truncatingIfNeeded: keyGroup >> 8))
        out.append(UInt8(truncatingIfNeeded: keyGroup))
        out.append(contentsOf: key)
        // Flip the sign bit so that negative namespaces sort before positive ones.
        let ns = UInt64(bitPattern: namespace) ^ (1 << 63)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: ns >> UInt64(shift))) }
        return out
    }

    public static func keyGroup(of encoded: [UInt8]) -> Int { Int(encoded[0]) << 8 | Int(encoded[1]) }

    public static func namespace(of encoded: [UInt8]) -> Int64 {
        var ns: UInt64 = 0
        for b in encoded[(encoded.count - 8)...] { ns = ns << 8 | UInt64(b) }
        return Int64(bitPattern: ns ^ (1 << 63))
    }

    public static func key(of encoded: [UInt8]) -> ArraySlice<UInt8> { encoded[2..<(encoded.count - 8)] }
}
