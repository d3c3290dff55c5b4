import Synchronization

/// Watermark alignment (`watermark.max_drift`) for one source worker, a plain state machine: a split whose
/// newest event time is more than the drift ahead of the slowest live split of the whole source (every
/// worker's, through `AlignmentBoard`) is paused, and resumed once it is within half the drift again. Only splits
/// that hold the watermark count as live: idle and finished splits hold nobody back, and a split that has
/// delivered no event time yet is not compared. The slowest split is never paused, so the source always
/// makes progress; a worker whose splits are all paused still polls, so it still sends barriers.
public struct SplitAlignment: Sendable, Hashable {
    /// Splits paused now.
    public private(set) var paused: Set<Int> = []
    /// Times a split was paused, and resumed.
    public private(set) var pauses: Int64 = 0
    public private(set) var resumes: Int64 = 0

    public init() {}

    /// Takes the live splits' newest event times, the slowest live event time of the source (nil when none
    /// is known) and the drift (nil: alignment off); returns true when the paused set changed.
    public mutating func update(live: [Int: Int64], slowest: Int64?, maxDriftMs: Int64?) -> Bool {
        var next = Set<Int>()
        if let drift = maxDriftMs, let slowest {
            // Paused past the drift, resumed within half of it: a split does not flap at the limit (each pause
            // makes librdkafka drop what it prefetched for the partition).
            let pauseAbove = slowest.addingReportingOverflow(drift).overflow ? Int64.max : slowest + drift
            let resumeAtOrBelow = slowest.addingReportingOverflow(drift / 2).overflow ? Int64.max : slowest + drift / 2
            for (split, t) in live where t > pauseAbove || (paused.contains(split) && t > resumeAtOrBelow) {
                next.insert(split)
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
