internal import CJemalloc
import Glibc
import Synchronization

/// A fixed set of jemalloc arenas, as many as the CPUs the process may use (cgroup quota included), that
/// worker threads bind to. jemalloc's own default is four arenas per host CPU, and its `narenas` option
/// can only be set before the first allocation; binding the busy threads here keeps the arenas they
/// fragment to what the quota can actually run.
public final class JemallocArenas: Sendable {
    /// The arena indexes created, empty when jemalloc does not answer.
    public let indexes: [UInt32]

    public init(count: Int) {
        var created: [UInt32] = []
        for _ in 0..<max(1, count) {
            var index: UInt32 = 0
            var size = MemoryLayout<UInt32>.size
            guard mallctl("arenas.create", &index, &size, nil, 0) == 0 else { break }
            created.append(index)
        }
        indexes = created
    }

    /// Binds the calling thread to arena `n % count`; false when there is nothing to bind to.
    @discardableResult
    public func bindCurrentThread(_ n: Int) -> Bool {
        guard !indexes.isEmpty else { return false }
        var index = indexes[n % indexes.count]
        return mallctl("thread.arena", nil, nil, &index, MemoryLayout<UInt32>.size) == 0
    }

    /// The arena the calling thread allocates from.
    public static var currentThreadArena: UInt32? {
        var index: UInt32 = 0
        var size = MemoryLayout<UInt32>.size
        guard mallctl("thread.arena", &index, &size, nil, 0) == 0 else { return nil }
        return index
    }
}
