import StreamCore

/// How `state.memory` is split between the block cache and the memtables.
///
/// - Block cache derived (`block_cache` unset): the cache's capacity is the whole budget. Memtables are
///   limited to a quarter of it and charged to the cache through the write buffer manager, so data
///   blocks, index and filter blocks get the budget minus the memtables, and the cache's capacity
///   bounds all three together (a soft bound: see `RocksCache`).
/// - Block cache given: memtables get the budget minus the cache (at least an eighth of the budget);
///   the cache's capacity is the given size plus the memtables charged to it.
/// - Block cache off: memtables get half the budget through the write buffer manager; index and
///   filter blocks are held by the table readers, outside any cache, and reported by
///   `estimate-table-readers-mem`.
public struct RocksMemoryPlan: Sendable, Hashable {
    /// Capacity of the shared LRU block cache; 0 when the block cache is off.
    public var cacheCapacity: Int
    /// Limit of all memtables together (the write buffer manager's size).
    public var memtableBytes: Int
    /// Size of one memtable of one column family.
    public var writeBufferSize: Int
    /// Memtables per column family (one active, the rest waiting for flush).
    public var maxWriteBufferNumber: Int

    /// Smallest budget accepted: below this RocksDB spends its time flushing tiny memtables.
    public static let minimumBudget = 16 << 20

    public init(spec: StateSpec) {
        // The workers' read caches are charged to the same budget.
        let budget = max(Int(spec.memoryBytes - spec.effectiveWorkerCacheBytes), Self.minimumBudget)
        switch spec.blockCacheBytes {
        case .some(0):
            cacheCapacity = 0
            memtableBytes = budget / 2
        case .some(let given):
            memtableBytes = max(budget - Int(given), budget / 8)
            cacheCapacity = Int(given) + memtableBytes
        case .none:
            memtableBytes = budget / 4
            cacheCapacity = budget
        }
        // Two memtables per column family fit the manager's limit; it flushes the largest when the
        // total goes past it, whatever the number of column families.
        maxWriteBufferNumber = 2
        writeBufferSize = min(max(memtableBytes / 2, 1 << 20), 64 << 20)
    }
}
