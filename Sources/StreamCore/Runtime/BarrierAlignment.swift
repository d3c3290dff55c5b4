/// Aligned barriers for an operator with several inputs, as a plain state machine: an input that delivered
/// barrier n is blocked (its later messages buffered) until every live input has; then the operator
/// snapshots and forwards the barrier.
public struct BarrierAlignment: Sendable {
    public enum Action: Sendable, Equatable {
        /// Process the message now.
        case deliver
        /// Hold the message: its input already delivered the pending barrier.
        case buffer
        /// Every input delivered barrier `id`: snapshot, forward it, then replay buffered messages.
        case snapshot(id: Int64)
    }

    private let inputs: Int
    private var ended: Set<Int> = []
    private var pending: Int64?
    private var arrived: Set<Int> = []

    public init(inputs: Int) { self.inputs = inputs }

    public var isAligning: Bool { pending != nil }

    /// A data message or watermark from `input`.
    public mutating func onMessage(input: Int) -> Action {
        arrived.contains(input) ? .buffer : .deliver
    }

    /// Barrier `id` from `input`.
    public mutating func onBarrier(_ id: Int64, input: Int) -> Action {
        if let p = pending, id > p {
            // A newer barrier overtook an incomplete one: the older checkpoint is abandoned.
            arrived.removeAll()
        }
        pending = id
        arrived.insert(input)
        return complete()
    }

    /// `input` ended: it will deliver no barrier.
    public mutating func onEnd(input: Int) -> Action {
        ended.insert(input)
        return pending == nil ? .deliver : complete()
    }

    private mutating func complete() -> Action {
        guard let p = pending else { return .deliver }
        if arrived.union(ended).count >= inputs {
            pending = nil
            arrived.removeAll()
            return .snapshot(id: p)
        }
        return .buffer
    }
}
