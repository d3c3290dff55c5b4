#if canImport(Glibc)
    import Glibc
#endif

/// A joinable OS thread running one closure. Workers are OS threads, not tasks: they block on channels
/// and I/O, and the cooperative pool would starve under that.
final class WorkerThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void
    let name: String

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    func start() throws(StreamError) {
        let unmanaged = Unmanaged.passRetained(self)
        let rc = pthread_create(
            &thread, nil,
            { arg in
                let worker = Unmanaged<WorkerThread>.fromOpaque(arg!).takeRetainedValue()
                WorkerThread.nameCurrentThread(worker.name)
                worker.body()
                return nil
            }, unmanaged.toOpaque())
        if rc != 0 {
            unmanaged.release()
            throw StreamError(.internal, "cannot start thread \(name): \(String(cString: strerror(rc)))")
        }
    }

    func join() { pthread_join(thread, nil) }

    /// Names the calling thread (the kernel keeps 15 bytes) so `top -H`, `perf report --sort comm` and gdb
    /// show the worker. Glibc's `pthread_setname_np` is not visible to Swift; the proc file is the same call.
    static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
