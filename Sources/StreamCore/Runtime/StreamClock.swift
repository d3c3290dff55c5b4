#if canImport(Glibc)
    import Glibc
#endif

/// Time as the runtime sees it; injected so tests can move it.
public protocol StreamClock: Sendable {
    /// Wall-clock time, epoch milliseconds.
    func nowMs() -> Int64
    /// Monotonic nanoseconds, for durations.
    func monotonicNs() -> UInt64
}

/// The real clock.
public struct SystemClock: StreamClock {
    public init() {}

    public func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A clock that also knows how to wait: a manual clock advances itself instead of blocking.
public protocol SleepingClock: StreamClock {
    func sleep(nanoseconds: UInt64)
}
