#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// Where every barrier stands: which tasks (worker threads) still owe an acknowledgement. A barrier
/// completes when every task that was live when it was injected has acknowledged it or exited; it is
/// aborted when a task declines it (a newer barrier overtook it, or it was cancelled). The checkpoint
/// coordinator builds on this.
public final class BarrierTracker: Sendable {
    public enum Status: Sendable, Equatable {
        case pending
        case completed
        case aborted
        /// Never injected.
        case unknown
    }

    private struct State {
        var live: Set<Int> = []
        var owed: [Int64: Set<Int>] = [:]
        var status: [Int64: Status] = [:]
        var completedOrder: [Int64] = []
    }
    private let state = Mutex(State())
    private let onComplete: (@Sendable (Int64) -> Void)?

    init(onComplete: (@Sendable (Int64) -> Void)? = nil) { self.onComplete = onComplete }

    func taskStarted(_ task: Int) { state.withLock { _ = $0.live.insert(task) } }

    /// Barrier `id` is about to be injected: every live task owes it.
    func injected(_ id: Int64) {
        let done = state.withLock { s -> Bool in
            // With no task left (the job ended or failed) nobody can take part: it can never be complete.
            guard !s.live.isEmpty else {
                s.status[id] = .aborted
                return false
            }
            s.owed[id] = s.live
            s.status[id] = .pending
            return settle(&s, id)
        }
        if done { onComplete?(id) }
    }

    func acknowledge(_ id: Int64, task: Int) {
        let done = state.withLock { s -> Bool in
            guard s.status[id] == .pending else { return false }
            s.owed[id]?.remove(task)
            return settle(&s, id)
        }
        if done { onComplete?(id) }
    }

    func decline(_ id: Int64) {
        state.withLock { s in
            guard s.status[id] == .pending else { return }
            s.status[id] = .aborted
            s.owed[id] = nil
        }
    }

    /// An exited task owes nothing more. A task that ended cleanly (`retired`: its input finished, or it
    /// retired at a rescale) had nothing more to contribute; one that stopped because the job failed leaves
    /// every barrier it owed incomplete, so those are aborted.
    func taskExited(_ task: Int, retired: Bool = false) {
        let done = state.withLock { s -> [Int64] in
            s.live.remove(task)
            var done: [Int64] = []
            for id in s.owed.keys.sorted() where s.owed[id]?.contains(task) == true {
                if retired {
                    s.owed[id]?.remove(task)
                    if settle(&s, id) { done.append(id) }
                } else {
                    s.status[id] = .aborted
                    s.owed[id] = nil
                }
            }
            return done
        }
        for id in done { onComplete?(id) }
    }

    private func settle(_ s: inout State, _ id: Int64) -> Bool {
        guard s.status[id] == .pending, s.owed[id]?.isEmpty == true else { return false }
        s.status[id] = .completed
        s.owed[id] = nil
        s.completedOrder.append(id)
        return true
    }

    public func status(_ id: Int64) -> Status { state.withLock { $0.status[id] ?? .unknown } }

    /// Completed barrier ids, in the order they completed.
    public var completed: [Int64] { state.withLock { $0.completedOrder } }

    /// Waits until barrier `id` is no longer pending, at most `timeoutMs` or until `giveUp` holds (the job
    /// ended); returns its status then.
    public func wait(for id: Int64, timeoutMs: Int, giveUp: () -> Bool = { false }) -> Status {
        var waited = 0
        while true {
            let s = status(id)
            if s != .pending || waited >= timeoutMs || giveUp() { return s }
            usleep(1_000)
            waited += 1
        }
    }
}
