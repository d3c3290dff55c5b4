// The C API hides the C++ objects behind structs that hold them in a single `rep` member
// (rocksdb/db/c.cc). These declarations repeat c.cc's definitions for RocksDB 7.8 exactly; the C API
// allocates the structs and we only reach through to `rep`, never create or free them here.
// If a future RocksDB changes these layouts, this file must change with it (checked against 7.8.3).

#include "CRocksShim.h"

#include <memory>

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_buffer_manager.h>

extern "C" {
struct rocksdb_options_t {
    rocksdb::Options rep;
};
struct rocksdb_cache_t {
    std::shared_ptr<rocksdb::Cache> rep;
};

void streamctl_rocksdb_options_set_write_buffer_manager(rocksdb_options_t *options, rocksdb_cache_t *cache,
                                                        size_t buffer_size) {
    std::shared_ptr<rocksdb::Cache> shared = cache ? cache->rep : nullptr;
    // allow_stall=false: a full budget triggers flushes rather than blocking writers indefinitely.
    options->rep.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(buffer_size, shared, /*allow_stall=*/false);
}

size_t streamctl_rocksdb_options_write_buffer_manager_usage(rocksdb_options_t *options) {
    auto &manager = options->rep.write_buffer_manager;
    return manager ? manager->memory_usage() : 0;
}

const char *streamctl_rocksdb_version(void) {
    // The library's own answer, not the header's: a different librocksdb may be linked at run time.
    static const std::string version = rocksdb::GetRocksVersionAsString(true);
    return version.c_str();
}
}
