import StreamCore
import StreamRunner

/// Process exit codes; the table in docs/operations.md must match.
enum Exit: Int32 {
    case ok = 0
    /// An unexpected failure (a bug, or an error without a better code).
    case failure = 1
    /// The pipeline or a profile is invalid, or a command-line value is.
    case config = 2
    /// `--max-duration` ran out while the job was still behind the end offsets it had to reach.
    case stillBehind = 3
    /// Late rows exceeded `event_time.max_late_share` of the rows read (status `late`).
    case tooLate = 4
    /// `state.dir` holds state of an earlier run; `--fresh` discards it.
    case leftoverState = 5
    /// The output path holds output of an earlier run; `--fresh` replaces it, `--append` keeps it.
    case leftoverOutput = 6
    /// Another streamctl process holds `state.dir` (its pid is in the message).
    case locked = 7
    /// `smoke`: the output differs from the expectation.
    case smokeMismatch = 8
    /// A bad record under `on_bad_record: fail`.
    case badRecord = 65
    /// Kafka could not be reached.
    case brokerUnavailable = 69
    /// A local file, the state store or a sink failed.
    case io = 74
    /// Checkpoints failed beyond the tolerated count.
    case checkpoint = 75
    /// A second SIGINT/SIGTERM while draining: exited at once (128 + SIGINT, as shells report it).
    case interrupted = 130

    init(_ result: RunResult) {
        switch result {
        case .ok: self = .ok
        case .config: self = .config
        case .behind: self = .stillBehind
        case .late: self = .tooLate
        case .leftoverState: self = .leftoverState
        case .leftoverOutput: self = .leftoverOutput
        case .locked: self = .locked
        case .interrupted: self = .interrupted
        case .failed(let kind): self = Exit(StreamError(kind, ""))
        }
    }

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
