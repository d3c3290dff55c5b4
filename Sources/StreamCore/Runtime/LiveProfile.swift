import Synchronization

/// The profile a running job reads its live knobs from (batch size, flush latency, channel bound, sink
/// throttle). Swapped whole, so a worker never sees half of one profile and half of another; workers
/// compare `version` once per loop (one atomic load) and re-read the profile only when it moved.
public final class LiveProfile: Sendable {
    private let profile: Mutex<Profile>
    private let counter = Atomic<Int>(0)

    public init(_ profile: Profile) { self.profile = Mutex(profile) }

    /// Bumped on every swap.
    public var version: Int { counter.load(ordering: .acquiring) }

    public var current: Profile { profile.withLock { $0 } }

    /// Replaces the profile; workers pick it up on their next loop.
    public func swap(_ new: Profile) {
        profile.withLock { $0 = new }
        counter.add(1, ordering: .releasing)
    }
}

/// A worker's view of the live profile: re-reads it only when its version moved.
struct ProfileView {
    let live: LiveProfile
    private(set) var profile: Profile
    private var seen: Int

    init(_ live: LiveProfile) {
        self.live = live
        seen = live.version
        profile = live.current
    }

    /// True when the profile changed since the last call.
    mutating func refresh() -> Bool {
        let v = live.version
        guard v != seen else { return false }
        seen = v
        profile = live.current
        return true
    }
}
