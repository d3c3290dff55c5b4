import Synchronization

/// Watermark alignment (`watermark.max_drift`) for one source worker, a plain state machine: a split whose
/// newest event time is more than the drift (or twice what its last poll moved it, if more) ahead of the
/// slowest live split of the whole source (every worker's, through `AlignmentBoard`) is paused, and resumed
/// once it is within half of that again. Only splits
/// that hold the watermark count as live: idle and finished splits hold nobody back, and a split that has
/// delivered no event time yet is not compared. The slowest split is never paused, so the source always
/// makes progress; a worker whose splits are all paused still polls, so it still sends barriers.
public struct SplitAlignment: Sendable, Hashable {
    /// Splits paused now.
    public private(set) var paused: Set<Int> = []
    /// Times a split was paused, and resumed.
    public private(set) var pauses: Int64 = 0
    public private(set) var resumes: Int64 = 0
    /// Each split's newest event time at the last update, and how far its last poll moved it.
    private var newest: [Int: Int64] = [:]
    private var step: [Int: Int64] = [:]

    public init() {}

    /// Takes the live splits' newest event times, the slowest live event time of the source (nil when none
    /// is known) and the drift (nil: alignment off); returns true when the paused set changed.
    public mutating func update(live: [Int: Int64], slowest: Int64?, maxDriftMs: Int64?) -> Bool {
        for (split, t) in live where t > .min {
            if let before = newest[split], before > .min, t > before { step[split] = t - before }
            newest[split] = t
        }
        var next = Set<Int>()
        if let maxDrift = maxDriftMs, let slowest {
            for (split, t) in live {
                // Alignment cannot be finer than what one poll of a split delivers: a partition whose rows are
                // spread thin in event time (many partitions, each holding every hour) jumps further per poll
                // than a tight drift, and pausing it at every poll made librdkafka refetch it every time (the
                // orders backlog in steady: 40× slower). The bound is the drift or twice the split's last step.
                let drift = max(maxDrift, 2 * (step[split] ?? 0))
                // Paused past the bound, resumed within half of it: a split does not flap at the limit.
                let pauseAbove = slowest.addingReportingOverflow(drift).overflow ? Int64.max : slowest + drift
                let resumeAtOrBelow =
                    slowest.addingReportingOverflow(drift / 2).overflow ? Int64.max : slowest + drift / 2
                if t > pauseAbove || (paused.contains(split) && t > resumeAtOrBelow) { next.insert(split) }
            }
        }
        guard next != paused else { return false }
        pauses += Int64(next.subtracting(paused).count)
        resumes += Int64(paused.subtracting(next).count)
        paused = next
        return true
    }
}

/// The slowest live event time of each source worker, so alignment spans the whole source: a worker reads
/// the minimum over all of them. A worker that ended, or knows no event time yet, posts nil.
public final class AlignmentBoard: Sendable {
    private let slowest: Mutex<[Int64?]>

    public init(workers: Int) { slowest = Mutex(Array(repeating: nil, count: max(1, workers))) }

    /// Posts worker `worker`'s slowest live event time and returns the source's.
    public func post(worker: Int, slowest value: Int64?) -> Int64? {
        slowest.withLock { s in
            if worker < s.count { s[worker] = value }
            return s.compactMap { $0 }.min()
        }
    }
}
