internal import CRocksDB
import StreamCore

/// An iterator over one column family bounded to `[lower, upper)` (`rocksdb_iterator_t`).
/// Owns its read options and the bound bytes they point at (RocksDB keeps only a slice of them).
struct RocksIterator: ~Copyable {
    private let raw: OpaquePointer  // rocksdb_iterator_t*
    private let readOptions: OpaquePointer  // rocksdb_readoptions_t*, outlives `raw`
    private let bounds: UnsafeMutableBufferPointer<UInt8>  // lower bytes, then upper bytes
    private let lowerCount: Int

    init(database db: OpaquePointer, family: RocksColumnFamily, lower: [UInt8], upper: [UInt8]) {
        bounds = .allocate(capacity: lower.count + upper.count)
        _ = bounds.initialize(from: lower + upper)
        lowerCount = lower.count
        readOptions = rocksdb_readoptions_create()!
        // A scan visits each block once: keep it from evicting the hot working set of point reads.
        rocksdb_readoptions_set_fill_cache(readOptions, 0)
        let base = UnsafeRawPointer(bounds.baseAddress!).assumingMemoryBound(to: CChar.self)
        rocksdb_readoptions_set_iterate_lower_bound(readOptions, base, lower.count)
        rocksdb_readoptions_set_iterate_upper_bound(readOptions, base + lower.count, upper.count)
        raw = rocksdb_create_iterator_cf(db, readOptions, family.raw)!
        rocksdb_iter_seek(raw, base, lower.count)
    }

    var isValid: Bool { rocksdb_iter_valid(raw) != 0 }

    var key: [UInt8] {
        var length = 0
        let pointer = rocksdb_iter_key(raw, &length)!
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    var value: [UInt8] {
        var length = 0
        guard let pointer = rocksdb_iter_value(raw, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    func next() { rocksdb_iter_next(raw) }

    /// Moves to the first key at or after `target` (within the bounds).
    func seek(_ target: [UInt8]) {
        target.withUnsafeBufferPointer { t in
            rocksdb_iter_seek(raw, UnsafeRawPointer(t.baseAddress!).assumingMemoryBound(to: CChar.self), t.count)
        }
    }

    /// Calls `body` with the current key's bytes, without copying them.
    func withKey<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var length = 0
        let pointer = rocksdb_iter_key(raw, &length)!
        return body(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// Throws the error that ended the iteration early, if any.
    func checkError(_ what: @autoclosure () -> String) throws(StreamError) {
        var err: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(raw, &err)
        try RocksError.check(err, what())
    }

    deinit {
        rocksdb_iter_destroy(raw)
        rocksdb_readoptions_destroy(readOptions)
        bounds.deallocate()
    }
}
