#include "malloc_conf.h"

// jemalloc reads this symbol at its first allocation. Background threads return freed pages to the OS
// within about a second, so resident memory follows what is allocated rather than what once was:
// without it RSS sat ~100 MiB above allocated under RocksDB's churn and past the state budget.
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

int streamctl_malloc_conf_linked(void) { return malloc_conf != 0; }
