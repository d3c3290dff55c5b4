internal import CRocksDB
internal import CRocksShim
import StreamCore

/// A shared LRU block cache (`rocksdb_cache_t`), its capacity the budget's share.
/// RocksDB holds its own reference once the cache is set on table options; ours serves the metrics.
///
/// The limit is not strict: with `strict_capacity_limit` an insert into a full shard fails, and RocksDB
/// turns that into a failed read or flush ("Insert failed due to LRU cache being full", facebook/rocksdb
/// #5322 and #8670) — a job with ten million keys at 256 MiB died of it. Without it the cache evicts what
/// is unpinned and can exceed its capacity only by what is pinned at once (blocks under live iterators,
/// L0 index and filter blocks); `/metrics` reports usage and pinned usage beside the capacity, as Flink
/// and Spark do for the same reason.
final class RocksCache: @unchecked Sendable {
    let raw: OpaquePointer  // rocksdb_cache_t*, owned

    init(capacity: Int) {
        raw = rocksdb_cache_create_lru(capacity)!
    }

    var capacity: Int { rocksdb_cache_get_capacity(raw) }
    var usage: Int { rocksdb_cache_get_usage(raw) }
    var pinnedUsage: Int { rocksdb_cache_get_pinned_usage(raw) }

    deinit { rocksdb_cache_destroy(raw) }
}

/// Database and column-family options (`rocksdb_options_t`), built from a `RocksMemoryPlan`.
/// The same options open every column family; they must outlive the database.
final class RocksOptions: @unchecked Sendable {
    let raw: OpaquePointer  // rocksdb_options_t*, owned

    init(plan: RocksMemoryPlan, cache: RocksCache?, parallelism: Int) {
        raw = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(raw, 1)
        rocksdb_options_set_create_missing_column_families(raw, 1)
        rocksdb_options_increase_parallelism(raw, Int32(max(parallelism, 2)))
        rocksdb_options_set_write_buffer_size(raw, plan.writeBufferSize)
        rocksdb_options_set_max_write_buffer_number(raw, Int32(plan.maxWriteBufferNumber))
        // Keeps the RocksDB LOG small: it is for diagnosis, not a second metrics channel.
        rocksdb_options_set_max_log_file_size(raw, 8 << 20)
        rocksdb_options_set_keep_log_file_num(raw, 3)

        let table = rocksdb_block_based_options_create()!
        // A full bloom filter spares a disk read for keys never seen (the common case of a new window).
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10))
        if let cache {
            rocksdb_block_based_options_set_block_cache(table, cache.raw)
            // Index and filter blocks live in the cache (inside the budget) rather than on the heap;
            // L0's are pinned because every read consults them.
            rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
            rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(table, 1)
            rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(table, 1)
        } else {
            // `block_cache: off`: data blocks come from the OS page cache; index and filter blocks are
            // held by the table readers (reported as estimate-table-readers-mem).
            rocksdb_block_based_options_set_no_block_cache(table, 1)
        }
        rocksdb_options_set_block_based_table_factory(raw, table)  // copies `table`
        rocksdb_block_based_options_destroy(table)

        // Memtables are bounded across all column families and, with a cache, charged to it.
        streamctl_rocksdb_options_set_write_buffer_manager(raw, cache?.raw, plan.memtableBytes)
    }

    deinit { rocksdb_options_destroy(raw) }
}

/// Read options (`rocksdb_readoptions_t`) shared by point reads; read-only after creation.
final class RocksReadOptions: @unchecked Sendable {
    let raw: OpaquePointer  // rocksdb_readoptions_t*, owned

    init() { raw = rocksdb_readoptions_create()! }
    deinit { rocksdb_readoptions_destroy(raw) }
}

/// Write options (`rocksdb_writeoptions_t`): WAL on, no fsync per write. A clean restart keeps every
/// write; a machine crash may lose the last writes, which the checkpoint protocol replays.
final class RocksWriteOptions: @unchecked Sendable {
    let raw: OpaquePointer  // rocksdb_writeoptions_t*, owned

    init() {
        raw = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(raw, 0)
        rocksdb_writeoptions_disable_WAL(raw, 0)
    }

    deinit { rocksdb_writeoptions_destroy(raw) }
}
