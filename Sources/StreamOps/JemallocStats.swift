internal import CJemalloc
import Glibc

/// jemalloc's statistics and controls through `mallctl`.
///
/// The streamctl executable links jemalloc, which then serves every `malloc` of the process (RocksDB's
/// included). A binary that only links the library still answers `mallctl`, but then its figures cover
/// only what was allocated through jemalloc's own entry points (`mallocx`); `isProcessAllocator` tells.
public enum JemallocStats {
    /// Process-wide figures in bytes, refreshed at the call: `allocated` by the application, `active` in
    /// pages holding allocations, `resident` in physically resident pages (allocator metadata included),
    /// `mapped` in mapped extents. `resident - allocated` is the allocator's overhead and fragmentation.
    /// Nil when mallctl does not answer.
    public static func snapshot() -> (allocated: Int, resident: Int, active: Int, mapped: Int)? {
        guard refresh(),
            let allocated = read("stats.allocated", as: Int.self),
            let resident = read("stats.resident", as: Int.self),
            let active = read("stats.active", as: Int.self),
            let mapped = read("stats.mapped", as: Int.self)
        else { return nil }
        return (allocated, resident, active, mapped)
    }

    /// True when mallctl answers (jemalloc is linked and built with statistics).
    public static var isAvailable: Bool { refresh() && read("stats.allocated", as: Int.self) != nil }

    /// True when the process's `malloc` is jemalloc's: a `malloc` through the C library's symbol shows up
    /// in this thread's jemalloc allocation counter.
    public static var isProcessAllocator: Bool {
        guard let before = read("thread.allocated", as: UInt64.self) else { return false }
        let size = 1 << 20
        // Called through the symbol the dynamic linker resolves, as every library in the process does; a
        // direct call could be elided by the optimizer together with its `free`.
        typealias Malloc = @convention(c) (Int) -> UnsafeMutableRawPointer?
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc") else { return false }
        let processMalloc = unsafeBitCast(symbol, to: Malloc.self)
        guard let block = processMalloc(size) else { return false }
        block.storeBytes(of: 1, as: UInt8.self)
        let after = read("thread.allocated", as: UInt64.self) ?? before
        free(block)
        return after &- before >= UInt64(size)
    }

    /// Bytes this thread allocated through jemalloc since it started (monotonic); nil without jemalloc.
    public static var threadAllocatedBytes: UInt64? { read("thread.allocated", as: UInt64.self) }

    /// jemalloc's version string ("5.3.0-0-g…").
    public static var version: String? {
        guard let pointer = read("version", as: UnsafePointer<CChar>?.self), let pointer else { return nil }
        return String(cString: pointer)
    }

    /// Arenas in use. Fixed at start: set it with `MALLOC_CONF=narenas:N` (streamctl derives N from the
    /// CPUs the process may use, see `ProcessMemory.availableCPUs()`).
    public static var arenaCount: Int? { read("arenas.narenas", as: UInt32.self).map { Int($0) } }

    /// Turns jemalloc's background purging threads on or off; false when mallctl refused.
    @discardableResult
    public static func setBackgroundThreads(_ enabled: Bool) -> Bool {
        var value = enabled
        return mallctl("background_thread", nil, nil, &value, MemoryLayout<Bool>.size) == 0
    }

    /// Returns unused dirty pages of every arena to the OS (after a restart inside the process, say).
    @discardableResult
    public static func purgeUnusedPages() -> Bool {
        // MALLCTL_ARENAS_ALL is 4096 in jemalloc 5.
        mallctl("arena.4096.purge", nil, nil, nil, 0) == 0
    }

    /// True when heap profiling was enabled at start (`MALLOC_CONF=prof:true`).
    public static var isProfilingEnabled: Bool { read("opt.prof", as: Bool.self) ?? false }

    /// Switches allocation sampling on (`prof.active`), for a process started with `prof:true`; false without.
    @discardableResult
    public static func activateProfiling() -> Bool {
        guard isProfilingEnabled else { return false }
        var on = true
        return mallctl("prof.active", nil, nil, &on, MemoryLayout<Bool>.size) == 0
    }

    /// Writes a heap profile for jeprof to `path`; false when profiling is off or the write failed.
    @discardableResult
    public static func dumpHeapProfile(to path: String) -> Bool {
        guard isProfilingEnabled else { return false }
        return path.withCString { cPath in
            var name: UnsafePointer<CChar>? = cPath
            return mallctl("prof.dump", nil, nil, &name, MemoryLayout<UnsafePointer<CChar>?>.size) == 0
        }
    }

    /// Makes jemalloc refresh the cached statistics that `stats.*` report.
    private static func refresh() -> Bool {
        var epoch: UInt64 = 1
        return mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size) == 0
    }

    /// The options jemalloc runs with that bound how long freed memory stays resident.
    public static var decayOptions: (backgroundThread: Bool, dirtyDecayMs: Int, muzzyDecayMs: Int)? {
        guard let bg = read("opt.background_thread", as: Bool.self),
            let dirty = read("opt.dirty_decay_ms", as: Int.self), let muzzy = read("opt.muzzy_decay_ms", as: Int.self)
        else { return nil }
        return (bg, dirty, muzzy)
    }

    private static func read<T>(_ name: String, as type: T.Type) -> T? {
        let buffer = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { buffer.deallocate() }
        var size = MemoryLayout<T>.size
        guard mallctl(name, buffer, &size, nil, 0) == 0, size == MemoryLayout<T>.size else { return nil }
        return buffer.load(as: T.self)
    }
}
