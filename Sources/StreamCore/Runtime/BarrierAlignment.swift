/// Aligned checkpoint barriers for a worker with several inputs, as a plain state machine (after Flink's
/// `SingleCheckpointBarrierHandler`): an input that delivered barrier n is blocked — the worker stops
/// reading it, so it back-pressures its sender — until every live input has; then the worker snapshots,
/// forwards the barrier and unblocks them all.
///
/// - A barrier newer than the pending one aborts the pending checkpoint and starts aligning the new one.
/// - A cancel marker aborts the checkpoint it names (and makes its later barriers stale).
/// - A barrier not newer than the latest checkpoint seen is stale and ignored.
/// - An input that ended counts as aligned for every later barrier.
/// - An input added at a rescale barrier n (`addInput(joinedAt:)`) counts as aligned for barriers up to n
///   and stays blocked until one of them completes or aborts: what it sends belongs after n.
public struct BarrierAlignment: Sendable {
    /// What arrived from an input.
    public enum Event: Sendable, Equatable {
        case barrier(Barrier, input: Int)
        /// The checkpoint `id` was cancelled upstream.
        case cancel(id: Int64, input: Int)
        case end(input: Int)
    }

    /// What the worker does in response.
    public enum Action: Sendable, Equatable {
        /// Stop reading `input` until it is unblocked.
        case block(input: Int)
        /// Every live input delivered `barrier`: snapshot, forward it, then read `unblock` again.
        case snapshot(Barrier, unblock: [Int])
        /// Checkpoint `id` will not complete here: forward a cancel marker and read `unblock` again.
        case abort(id: Int64, unblock: [Int])
    }

    public private(set) var inputs: Int
    private var ended: Set<Int> = []
    private var blocked: Set<Int> = []
    /// Inputs added at a rescale barrier, blocked until a checkpoint at or after it completes or aborts.
    private var joined: [Int: Int64] = [:]
    public private(set) var pending: Barrier?
    /// The newest checkpoint id seen: pending, completed or aborted.
    public private(set) var latest: Int64

    /// `latest` is the newest checkpoint the worker already passed (a new worker starts after its barrier).
    public init(inputs: Int, latest: Int64 = 0) {
        self.inputs = inputs
        self.latest = latest
    }

    public var isAligning: Bool { pending != nil }

    /// Whether the worker must not read `input` now.
    public func isBlocked(_ input: Int) -> Bool { blocked.contains(input) || joined[input] != nil }

    /// Inputs not to read now.
    public var blockedInputs: [Int] { (blocked.union(joined.keys)).sorted() }

    /// Adds an input that starts after barrier `barrier` (nil: at once, unblocked); returns its index.
    public mutating func addInput(joinedAt barrier: Int64? = nil) -> Int {
        let index = inputs
        inputs += 1
        if let barrier, barrier > latest || pending?.id == barrier { joined[index] = barrier }
        return index
    }

    public mutating func on(_ event: Event) -> [Action] {
        switch event {
        case .barrier(let barrier, let input):
            if let p = pending {
                if barrier.id < p.id { return [] }  // stale: that checkpoint was already abandoned here
                if barrier.id == p.id {
                    guard !blocked.contains(input) else { return [] }
                    blocked.insert(input)
                    return [.block(input: input)] + complete()
                }
                // A newer barrier overtook an incomplete one: abandon it, align the new one.
                var actions = [Action.abort(id: p.id, unblock: release(through: p.id))]
                actions += begin(barrier, input: input)
                return actions
            }
            guard barrier.id > latest else { return [] }
            return begin(barrier, input: input)
        case .cancel(let id, _):
            if let p = pending, id >= p.id {
                latest = max(latest, id)
                return [.abort(id: p.id, unblock: release(through: id))]
            }
            guard pending == nil, id > latest else { return [] }
            latest = id
            return [.abort(id: id, unblock: release(through: id))]
        case .end(let input):
            ended.insert(input)
            blocked.remove(input)
            joined.removeValue(forKey: input)
            var actions = complete()
            // Every input but joined ones ended: the barrier they wait for can no longer come.
            if !joined.isEmpty, (0..<inputs).allSatisfy({ ended.contains($0) || joined[$0] != nil }) {
                let id = joined.values.max()!
                let freed = joined.keys.sorted()
                joined.removeAll()
                actions.append(.abort(id: id, unblock: freed))
            }
            return actions
        }
    }

    private mutating func begin(_ barrier: Barrier, input: Int) -> [Action] {
        pending = barrier
        latest = barrier.id
        blocked = [input]
        return [.block(input: input)] + complete()
    }

    private mutating func complete() -> [Action] {
        guard let p = pending else { return [] }
        for i in 0..<inputs where !blocked.contains(i) && !ended.contains(i) {
            guard let j = joined[i], j >= p.id else { return [] }
        }
        return [.snapshot(p, unblock: release(through: p.id))]
    }

    /// Ends the pending checkpoint: unblocks its inputs, and joined inputs waiting for a barrier up to `id`.
    private mutating func release(through id: Int64) -> [Int] {
        var freed = blocked
        blocked.removeAll()
        pending = nil
        for (i, j) in joined where j <= id {
            joined.removeValue(forKey: i)
            freed.insert(i)
        }
        return freed.sorted()
    }
}
