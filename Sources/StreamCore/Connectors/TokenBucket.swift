#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A token bucket over records per second and bytes per second: the sink throttle of a profile, shared by
/// every sink (file, stdout, null, Kafka). `acquire` blocks the calling writer thread until the rate allows
/// what it wrote, and adds the time it waited to `throttledMs`. Each rate allows a burst of one second's worth;
/// a request larger than the burst runs into debt and waits it off, so any sequence of requests keeps to the rate
/// on average.
public struct TokenBucket: Sendable {
    public typealias Sleep = @Sendable (_ nanoseconds: UInt64) -> Void

    public private(set) var recordsPerSecond: Double?
    public private(set) var bytesPerSecond: Double?
    private let clock: any StreamClock
    private let sleep: Sleep
    private var recordTokens: Double
    private var byteTokens: Double
    private var lastNs: UInt64
    /// Total time spent waiting for tokens.
    public private(set) var throttledNs: UInt64 = 0

    public var throttledMs: Int64 { Int64(throttledNs / 1_000_000) }
    public var isUnlimited: Bool { recordsPerSecond == nil && bytesPerSecond == nil }

    /// - Parameters:
    ///   - recordsPerSecond, bytesPerSecond: the rates; nil (or not positive) leaves that dimension unlimited.
    ///   - clock: where time comes from (monotonic); tests pass a manual clock.
    ///   - sleep: how to wait; tests pass one that moves their manual clock.
    public init(
        recordsPerSecond: Int?, bytesPerSecond: Int64?, clock: any StreamClock = SystemClock(),
        sleep: @escaping Sleep = TokenBucket.systemSleep
    ) {
        self.recordsPerSecond = recordsPerSecond.flatMap { $0 > 0 ? Double($0) : nil }
        self.bytesPerSecond = bytesPerSecond.flatMap { $0 > 0 ? Double($0) : nil }
        self.clock = clock
        self.sleep = sleep
        self.recordTokens = self.recordsPerSecond ?? 0
        self.byteTokens = self.bytesPerSecond ?? 0
        self.lastNs = clock.monotonicNs()
    }

    /// The throttle of one of `workers` sink workers: each gets an equal share of the profile's rates.
    /// Waits with the clock's own `sleep` when it is a `SleepingClock` (a test's manual clock), else really.
    /// Takes the profile's rates (a live profile change); tokens and time throttled so far are kept.
    public mutating func retune(profile: Profile, workers: Int) {
        refill()  // time so far is credited at the old rates
        let w = max(1, workers)
        recordsPerSecond = profile.sinkRecordsPerSecond.flatMap { $0 > 0 ? Double(max(1, $0 / w)) : nil }
        bytesPerSecond = profile.sinkBytesPerSecond.flatMap { $0 > 0 ? Double(max(1, $0 / Int64(w))) : nil }
        if let r = recordsPerSecond { recordTokens = min(recordTokens, r) }
        if let b = bytesPerSecond { byteTokens = min(byteTokens, b) }
    }

    public init(profile: Profile, workers: Int, clock: any StreamClock) {
        let w = max(1, workers)
        let sleep: Sleep
        if let sleeping = clock as? any SleepingClock {
            sleep = { sleeping.sleep(nanoseconds: $0) }
        } else {
            sleep = TokenBucket.systemSleep
        }
        self.init(
            recordsPerSecond: profile.sinkRecordsPerSecond.map { max(1, $0 / w) },
            bytesPerSecond: profile.sinkBytesPerSecond.map { max(1, $0 / Int64(w)) },
            clock: clock, sleep: sleep)
    }

    /// Takes `records` and `bytes` tokens, first waiting as long as the rates require.
    public mutating func acquire(records: Int, bytes: Int) {
        if isUnlimited { return }
        refill()
        var waitSeconds = 0.0
        if let rate = recordsPerSecond {
            recordTokens -= Double(records)
            if recordTokens < 0 { waitSeconds = max(waitSeconds, -recordTokens / rate) }
        }
        if let rate = bytesPerSecond {
            byteTokens -= Double(bytes)
            if byteTokens < 0 { waitSeconds = max(waitSeconds, -byteTokens / rate) }
        }
        guard waitSeconds > 0 else { return }
        let start = clock.monotonicNs()
        sleep(UInt64((waitSeconds * 1e9).rounded(.up)))
        let end = clock.monotonicNs()
        if end > start { throttledNs += end - start }
    }

    private mutating func refill() {
        let now = clock.monotonicNs()
        guard now > lastNs else { return }
        let elapsed = Double(now - lastNs) / 1e9
        lastNs = now
        if let rate = recordsPerSecond { recordTokens = min(rate, recordTokens + elapsed * rate) }
        if let rate = bytesPerSecond { byteTokens = min(rate, byteTokens + elapsed * rate) }
    }

    public static let systemSleep: Sleep = { ns in
        var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
