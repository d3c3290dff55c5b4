import StreamCore

/// Process exit codes; the table in docs/operations.md must match.
enum Exit: Int32 {
    case ok = 0
    /// An unexpected failure (a bug, or an error without a better code).
    case failure = 1
    /// The pipeline or a profile is invalid, or a command-line value is.
    case config = 2
    /// `--max-duration` ran out while the job was still behind the end offsets it had to reach.
    case stillBehind = 3
    /// A bad record under `on_bad_record: fail`.
    case badRecord = 65
    /// Kafka could not be reached.
    case brokerUnavailable = 69
    /// A local file, the state store or a sink failed.
    case io = 74
    /// Checkpoints failed beyond the tolerated count.
    case checkpoint = 75

    init(_ error: StreamError) {
        switch error.kind {
        case .config: self = .config
        case .badRecord: self = .badRecord
        case .brokerUnavailable: self = .brokerUnavailable
        case .source, .sink, .state, .io: self = .io
        case .checkpoint: self = .checkpoint
        case .internal: self = .failure
        }
    }
}
