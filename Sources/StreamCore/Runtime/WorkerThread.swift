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
                worker.body()
                return nil
            }, unmanaged.toOpaque())
        if rc != 0 {
            unmanaged.release()
            throw StreamError(.internal, "cannot start thread \(name): \(String(cString: strerror(rc)))")
        }
    }

    func join() { pthread_join(thread, nil) }
}
