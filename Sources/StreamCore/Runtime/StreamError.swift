/// A failure of a running job, named by what failed and why, with the underlying library's message.
public struct StreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The pipeline or a profile is wrong (exit 2).
        case config
        /// A record did not decode and the policy is `fail` (exit 65).
        case badRecord
        /// The broker could not be reached or refused us after retries (exit 69).
        case brokerUnavailable
        /// Reading the source failed.
        case source
        /// Writing the sink failed.
        case sink
        /// The state store failed (disk, RocksDB).
        case state
        /// An I/O error on a local file.
        case io
        /// A checkpoint failed beyond the tolerated count (exit 75).
        case checkpoint
        /// A bug: an invariant did not hold.
        case `internal`
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
