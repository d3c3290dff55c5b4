#pragma once
/// Non-zero when streamctl's jemalloc configuration is linked into the process.
int streamctl_malloc_conf_linked(void);
