internal import CRocksDB
import Glibc
import StreamCore
import Synchronization

/// A column family handle (`rocksdb_column_family_handle_t`), destroyed before its database closes.
final class RocksColumnFamily: @unchecked Sendable {
    let name: String
    let raw: OpaquePointer  // rocksdb_column_family_handle_t*, owned until `release()`

    init(name: String, raw: OpaquePointer) {
        self.name = name
        self.raw = raw
    }
}

/// An open RocksDB database with its column families (`rocksdb_open_column_families` / `rocksdb_close`).
/// Owns the options and cache that must outlive it; column families are created on demand.
final class RocksDatabase: @unchecked Sendable {
    let path: String
    let options: RocksOptions
    let cache: RocksCache?
    let readOptions = RocksReadOptions()
    let writeOptions = RocksWriteOptions()
    private let raw: OpaquePointer  // rocksdb_t*
    private let families: Mutex<[String: RocksColumnFamily]>
    private let closed = Atomic<Bool>(false)

    init(path: String, options: RocksOptions, cache: RocksCache?) throws(StreamError) {
        self.path = path
        self.options = options
        self.cache = cache
        let names = try Self.existingColumnFamilies(path: path, options: options)

        var err: UnsafeMutablePointer<CChar>?
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        let cfOptions = [OpaquePointer?](repeating: options.raw, count: names.count)
        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let db = cNames.map { $0.map { UnsafePointer<CChar>($0) } }.withUnsafeBufferPointer { namePtrs in
            rocksdb_open_column_families(
                options.raw, path, Int32(names.count), namePtrs.baseAddress, cfOptions, &handles, &err)
        }
        try RocksError.check(err, "cannot open RocksDB state at \(path)")
        guard let db else { throw StreamError(.state, "cannot open RocksDB state at \(path)") }
        raw = db
        var map: [String: RocksColumnFamily] = [:]
        for (name, handle) in zip(names, handles) {
            map[name] = RocksColumnFamily(name: name, raw: handle!)
        }
        families = Mutex(map)
    }

    /// The column families already in the database, "default" first; just "default" for a new one.
    private static func existingColumnFamilies(path: String, options: RocksOptions) throws(StreamError) -> [String] {
        var err: UnsafeMutablePointer<CChar>?
        var count = 0
        guard let list = rocksdb_list_column_families(options.raw, path, &count, &err) else {
            // No database there yet (RocksDB says so in `err`): it will be created.
            if let err { rocksdb_free(err) }
            return ["default"]
        }
        defer { rocksdb_list_column_families_destroy(list, count) }
        var names = (0..<count).compactMap { list[$0].map { String(cString: $0) } }
        names.removeAll { $0 == "default" }
        return ["default"] + names
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// The raw handle for a call; throws once the database is closed.
    func handle() throws(StreamError) -> OpaquePointer {
        if isClosed { throw StreamError(.state, "RocksDB state at \(path) is closed") }
        return raw
    }

    /// The column family `name`, created when missing. Thread-safe.
    func columnFamily(_ name: String) throws(StreamError) -> RocksColumnFamily {
        let db = try handle()
        let result: Result<RocksColumnFamily, StreamError> = families.withLock { families in
            if let family = families[name] { return .success(family) }
            var err: UnsafeMutablePointer<CChar>?
            let cf = rocksdb_create_column_family(db, options.raw, name, &err)
            do throws(StreamError) {
                try RocksError.check(err, "cannot create column family \(name) in \(path)")
            } catch {
                return .failure(error)
            }
            let family = RocksColumnFamily(name: name, raw: cf!)
            families[name] = family
            return .success(family)
        }
        return try result.get()
    }

    var columnFamilyNames: [String] { families.withLock { Array($0.keys).sorted() } }

    /// An integer property summed over every column family (e.g. "rocksdb.estimate-num-keys").
    func intProperty(_ property: String) -> Int64 {
        guard !isClosed else { return 0 }
        return families.withLock { families in
            var total: Int64 = 0
            for family in families.values {
                var value: UInt64 = 0
                if rocksdb_property_int_cf(raw, family.raw, property, &value) == 0 { total &+= Int64(value) }
            }
            return total
        }
    }

    /// An integer property of one column family.
    func intProperty(_ property: String, of family: RocksColumnFamily) throws(StreamError) -> Int64 {
        let db = try handle()
        var value: UInt64 = 0
        guard rocksdb_property_int_cf(db, family.raw, property, &value) == 0 else {
            throw StreamError(.state, "RocksDB property \(property) is not available for \(family.name)")
        }
        return Int64(value)
    }

    /// Applies `batch` atomically.
    func write(_ batch: borrowing RocksWriteBatch) throws(StreamError) {
        let db = try handle()
        var err: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions.raw, batch.raw, &err)
        try RocksError.check(err, "cannot write state to \(path)")
    }

    /// Flushes the memtables of every column family to SST files (waits for it).
    /// A hard-link checkpoint of the whole database at this instant into `directory`, which must not exist
    /// yet (`rocksdb_checkpoint_create`; memtables are flushed first, so no WAL is needed to read it).
    func checkpoint(into directory: String) throws(StreamError) {
        let db = try handle()
        var err: UnsafeMutablePointer<CChar>?
        let cp = rocksdb_checkpoint_object_create(db, &err)
        try RocksError.check(err, "cannot create a checkpoint of \(path)")
        guard let cp else { throw StreamError(.checkpoint, "cannot create a checkpoint of \(path)") }
        defer { rocksdb_checkpoint_object_destroy(cp) }
        rocksdb_checkpoint_create(cp, directory, 0, &err)
        try RocksError.check(err, "cannot write the checkpoint of \(path) to \(directory)")
    }

    func flush() throws(StreamError) {
        let db = try handle()
        let flushOptions = rocksdb_flushoptions_create()!
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flushoptions_set_wait(flushOptions, 1)
        let handles = families.withLock { Array($0.values) }
        for family in handles {
            var err: UnsafeMutablePointer<CChar>?
            rocksdb_flush_cf(db, flushOptions, family.raw, &err)
            try RocksError.check(err, "cannot flush column family \(family.name) in \(path)")
        }
    }

    /// Closes the database; later calls through `handle()` throw. Idempotent.
    func close() {
        let (exchanged, _) = closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        families.withLock { families in
            for family in families.values { rocksdb_column_family_handle_destroy(family.raw) }
            families.removeAll()
        }
        rocksdb_close(raw)
    }

    deinit { close() }
}

/// A write batch (`rocksdb_writebatch_t`): cannot be copied; freed at end of scope.
struct RocksWriteBatch: ~Copyable {
    let raw = rocksdb_writebatch_create()!

    func put(_ key: [UInt8], _ value: [UInt8], in family: RocksColumnFamily) {
        key.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                rocksdb_writebatch_put_cf(
                    raw, family.raw, UnsafeRawPointer(k.baseAddress)?.assumingMemoryBound(to: CChar.self), k.count,
                    UnsafeRawPointer(v.baseAddress)?.assumingMemoryBound(to: CChar.self), v.count)
            }
        }
    }

    func delete(_ key: [UInt8], in family: RocksColumnFamily) {
        key.withUnsafeBufferPointer { k in
            rocksdb_writebatch_delete_cf(
                raw, family.raw, UnsafeRawPointer(k.baseAddress)?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// Removes `[from, to)`: one range tombstone instead of one per key.
    func deleteRange(from lower: [UInt8], to upper: [UInt8], in family: RocksColumnFamily) {
        lower.withUnsafeBufferPointer { l in
            upper.withUnsafeBufferPointer { u in
                rocksdb_writebatch_delete_range_cf(
                    raw, family.raw, UnsafeRawPointer(l.baseAddress!).assumingMemoryBound(to: CChar.self), l.count,
                    UnsafeRawPointer(u.baseAddress!).assumingMemoryBound(to: CChar.self), u.count)
            }
        }
    }

    var count: Int { Int(rocksdb_writebatch_count(raw)) }

    deinit { rocksdb_writebatch_destroy(raw) }
}

/// Counts, on this thread, the internal entries RocksDB skips from creation to `skipped()` (tombstones,
/// overwritten versions): the part of a scan's cost its results do not show. Perf counting is per thread
/// and switched off again afterwards.
struct RocksPerfCounter: ~Copyable {
    private let context: OpaquePointer  // rocksdb_perfcontext_t*, this thread's, a view we free

    init() {
        rocksdb_set_perf_level(Int32(rocksdb_enable_count))
        context = rocksdb_perfcontext_create()!
        rocksdb_perfcontext_reset(context)
    }

    func skipped() -> Int {
        Int(
            rocksdb_perfcontext_metric(context, Int32(rocksdb_internal_key_skipped_count))
                + rocksdb_perfcontext_metric(context, Int32(rocksdb_internal_delete_skipped_count)))
    }

    deinit {
        rocksdb_set_perf_level(Int32(rocksdb_disable))
        rocksdb_perfcontext_destroy(context)
    }
}
