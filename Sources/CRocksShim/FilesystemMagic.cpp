#include "CRocksShim.h"

#include <sys/vfs.h>

extern "C" int streamctl_filesystem_magic(const char *path, unsigned long *magic) {
    struct statfs buffer;
    if (statfs(path, &buffer) != 0) return -1;
    *magic = static_cast<unsigned long>(buffer.f_type);
    return 0;
}
