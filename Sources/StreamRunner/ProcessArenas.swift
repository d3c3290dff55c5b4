import StreamOps

/// The jemalloc arenas worker threads bind to, created once per process: arenas cannot be destroyed while
/// threads may still hold memory in them, so a runner that restarts its job must not create new ones.
public enum ProcessArenas {
    public static let shared = JemallocArenas(count: ProcessMemory.availableCPUs())
}
