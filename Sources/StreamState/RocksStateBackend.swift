import Foundation
import StreamCore

/// Keyed state in one RocksDB database under `state.dir`, one column family per stateful operator,
/// held inside the `state.memory` budget (see `RocksMemoryPlan`).
///
/// Writes go through the WAL without fsync: a clean restart finds every write.
public final class RocksStateBackend: KeyedStateBackend, @unchecked Sendable {
    /// The filesystem of `spec.dir` ("ext4", "xfs", "tmpfs", "overlayfs", "nfs", ...) for the run log.
    public let filesystem: String
    /// True when `spec.dir` is on a network filesystem (a warning was printed at open).
    public let isNetworkFilesystem: Bool
    /// How the memory budget was split.
    public let memoryPlan: RocksMemoryPlan
    /// The database directory.
    public let directory: String

    private let database: RocksDatabase

    /// Opens (or creates) the database in `spec.dir`, reopening every column family it already has.
    public init(spec: StateSpec) throws(StreamError) {
        directory = spec.dir
        // Only a missing directory is created here; anything else at the path is RocksDB's to reject.
        if !FileManager.default.fileExists(atPath: spec.dir) {
            do {
                try FileManager.default.createDirectory(atPath: spec.dir, withIntermediateDirectories: true)
            } catch {
                throw StreamError(.state, "cannot create state directory \(spec.dir): \(error.localizedDescription)")
            }
        }
        let fs = FilesystemInfo.of(path: spec.dir)
        filesystem = fs?.name ?? "unknown"
        isNetworkFilesystem = fs?.isNetwork ?? false
        if isNetworkFilesystem {
            let warning =
                "warning: state.dir \(spec.dir) is on a network filesystem (\(filesystem)); "
                + "RocksDB needs a fast local disk: expect slow checkpoints and stalls\n"
            FileHandle.standardError.write(Data(warning.utf8))
        }
        memoryPlan = RocksMemoryPlan(spec: spec)
        let cache = memoryPlan.cacheCapacity > 0 ? RocksCache(capacity: memoryPlan.cacheCapacity) : nil
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let options = RocksOptions(plan: memoryPlan, cache: cache, parallelism: cpus)
        database = try RocksDatabase(path: spec.dir, options: options, cache: cache)
    }

    /// The column family `name`, created on first use. Thread-safe.
    public func table(named name: String) throws(StreamError) -> any KeyedStateTable {
        RocksStateTable(database: database, family: try database.columnFamily(name))
    }

    /// The column families in the database ("default" included).
    public var tableNames: [String] { database.columnFamilyNames }

    /// RocksDB's native memory and size figures (summed over column families) and jemalloc's.
    /// Block-cache figures include the memtables charged to the cache; they read 0 with the cache off.
    public func metrics() -> [String: Int64] {
        var metrics: [String: Int64] = [
            "block-cache-capacity": Int64(database.cache?.capacity ?? 0),
            "block-cache-usage": Int64(database.cache?.usage ?? 0),
            "block-cache-pinned-usage": Int64(database.cache?.pinnedUsage ?? 0),
        ]
        for property in Self.summedProperties {
            metrics[property] = database.intProperty("rocksdb." + property)
        }
        if let jemalloc = AllocatorProbe.jemalloc() {
            metrics["jemalloc-allocated"] = Int64(jemalloc.allocated)
            metrics["jemalloc-resident"] = Int64(jemalloc.resident)
        }
        return metrics
    }

    static let summedProperties = [
        "cur-size-all-mem-tables", "estimate-table-readers-mem", "estimate-num-keys",
        "estimate-pending-compaction-bytes",
    ]

    /// Writes the memtables to SST files (e.g. before a checkpoint or to measure the block cache).
    public func flush() throws(StreamError) { try database.flush() }

    /// A hard-link checkpoint of every column family into `directory` (created; must not exist yet).
    public func snapshot(into directory: String) throws(StreamError) -> [String] {
        let parent = (directory as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
        } catch {
            throw StreamError(.checkpoint, "cannot prepare \(directory): \(error.localizedDescription)")
        }
        try database.checkpoint(into: directory)
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw StreamError(.checkpoint, "cannot list \(directory): \(error.localizedDescription)")
        }
    }

    /// Closes the database: the WAL already holds every write. Tables must not be used afterwards.
    public func close() throws(StreamError) { database.close() }
}
