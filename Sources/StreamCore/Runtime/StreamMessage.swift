/// A checkpoint barrier (Chandy–Lamport): everything before it belongs to checkpoint `id`.
public struct Barrier: Sendable, Hashable {
    public var id: Int64
    /// The profile to switch to at this barrier, when the barrier carries a profile change.
    public var profile: String?
    public init(id: Int64, profile: String? = nil) {
        self.id = id
        self.profile = profile
    }
}

/// What flows between operators.
public enum StreamMessage: Sendable {
    case batch(Batch)
    /// Event time up to which every earlier row has arrived (per the sender).
    case watermark(Int64)
    case barrier(Barrier)
    /// Checkpoint `id` was cancelled (timed out or declined): a worker aligning it stops and forwards this.
    case cancel(Int64)
    /// The sender has nothing more.
    case end
}

/// A message with the index of the upstream worker that sent it, so a receiver can keep per-input state
/// (watermarks, barrier alignment).
public struct Envelope: Sendable {
    public var input: Int
    public var message: StreamMessage
    public init(input: Int, message: StreamMessage) {
        self.input = input
        self.message = message
    }
}
