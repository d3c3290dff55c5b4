/// A bounded per-worker read cache of state values in front of the backend, so hot keys skip the
/// backend's read. Write-through: the backend stays the authority, the cache only saves reads.
///
/// Two generations approximate LRU at dictionary cost: new and re-read entries go to `current`; when it
/// holds half the capacity it becomes `previous` (the older one is dropped). Memory stays under
/// `capacityBytes` counted as key + value + a fixed per-entry overhead.
public struct StateCache: Sendable {
    public let capacityBytes: Int
    private var current: [[UInt8]: [UInt8]] = [:]
    private var previous: [[UInt8]: [UInt8]] = [:]
    private var currentBytes = 0
    public private(set) var hits: Int64 = 0
    public private(set) var misses: Int64 = 0

    /// Dictionary slot, array headers and hashing overhead per entry, measured roughly.
    static let entryOverhead = 96

    public init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    public mutating func get(_ key: [UInt8]) -> [UInt8]? {
        guard capacityBytes > 0 else { return nil }
        if let v = current[key] {
            hits += 1
            return v
        }
        if let v = previous.removeValue(forKey: key) {
            hits += 1
            put(key, v)
            return v
        }
        misses += 1
        return nil
    }

    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        let cost = key.count + value.count + Self.entryOverhead
        guard capacityBytes > 0, cost * 2 <= capacityBytes else { return }
        if let old = current.updateValue(value, forKey: key) {
            currentBytes += value.count - old.count
        } else {
            currentBytes += cost
        }
        if currentBytes * 2 > capacityBytes {
            previous = current
            current = [:]
            currentBytes = 0
        }
    }

    public mutating func remove(_ key: [UInt8]) {
        if let old = current.removeValue(forKey: key) { currentBytes -= key.count + old.count + Self.entryOverhead }
        previous.removeValue(forKey: key)
    }

    public mutating func removeAll() {
        current = [:]
        previous = [:]
        currentBytes = 0
    }

    /// Entries held, for metrics.
    public var count: Int { current.count + previous.count }
}
