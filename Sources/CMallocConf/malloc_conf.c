#include "malloc_conf.h"

// jemalloc reads this symbol at its first allocation. Background threads return freed pages to the OS
// within about a second, so resident memory follows what is allocated rather than what once was:
// without it RSS sat ~100 MiB above allocated under RocksDB's churn and past the state budget.
// Heap profiling is set up but not sampling (prof_active:false) until `--heap-profile-dir` switches it on:
// jemalloc can only profile when started with prof:true; one sample per 128 KiB allocated (default 512 KiB).
const char *malloc_conf =
    "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,prof:true,prof_active:false,lg_prof_sample:17";

int streamctl_malloc_conf_linked(void) { return malloc_conf != 0; }
