// Additions to RocksDB's C API (rocksdb/c.h, 7.8) that streamctl needs and the C API lacks.
#ifndef STREAMCTL_ROCKS_SHIM_H
#define STREAMCTL_ROCKS_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rocksdb_options_t;
struct rocksdb_cache_t;

/// Installs a WriteBufferManager limiting all memtables of the database to `buffer_size` bytes.
/// When `cache` is not NULL, memtable memory is charged to that block cache (dummy entries), so one
/// cache capacity bounds blocks and memtables together. `cache` may be destroyed afterwards: the
/// manager keeps its own reference.
void streamctl_rocksdb_options_set_write_buffer_manager(struct rocksdb_options_t *options,
                                                        struct rocksdb_cache_t *cache, size_t buffer_size);

/// Memory the database's write buffer manager counts (0 when none is installed).
size_t streamctl_rocksdb_options_write_buffer_manager_usage(struct rocksdb_options_t *options);

/// The version of the RocksDB library linked at run time, e.g. "7.8.3" (static storage).
const char *streamctl_rocksdb_version(void);

/// statfs(2)'s f_type of `path` into `magic` (Swift's Glibc module does not export <sys/vfs.h>).
/// Returns 0, or -1 with errno set.
int streamctl_filesystem_magic(const char *path, unsigned long *magic);

#ifdef __cplusplus
}
#endif

#endif
