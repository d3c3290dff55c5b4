/// The watermark of an operator with several inputs: the minimum over inputs that have not ended.
public struct InputWatermarks: Sendable {
    private var perInput: [Int64]
    private var ended: [Bool]
    public private(set) var current: Int64 = .min

    /// `floor`: the watermark restored from a checkpoint; it never goes back below it.
    public init(inputs: Int, floor: Int64 = .min) {
        perInput = Array(repeating: .min, count: inputs)
        ended = Array(repeating: false, count: inputs)
        current = floor
    }

    /// Records input `input`'s watermark; returns the new combined watermark when it advanced.
    public mutating func update(input: Int, watermark: Int64) -> Int64? {
        if watermark > perInput[input] { perInput[input] = watermark }
        return recompute()
    }

    /// An ended input no longer holds the watermark back.
    public mutating func end(input: Int) -> Int64? {
        ended[input] = true
        return recompute()
    }

    public var allEnded: Bool { ended.allSatisfy { $0 } }

    /// Adds an input (a sender started at a rescale) that holds the watermark until it sends one.
    public mutating func addInput() -> Int {
        perInput.append(.min)
        ended.append(false)
        return perInput.count - 1
    }

    /// Inputs known.
    public var count: Int { perInput.count }

    /// Inputs that ended.
    public var endedInputs: Set<Int> { Set(ended.indices.filter { ended[$0] }) }

    private mutating func recompute() -> Int64? {
        var m = Int64.max
        var any = false
        for i in perInput.indices where !ended[i] {
            any = true
            m = min(m, perInput[i])
        }
        guard any, m > current else { return nil }
        current = m
        return m
    }
}

/// Watermarks of the splits one source worker reads: each split's watermark is the newest event time
/// it delivered minus the allowed disorder; the worker's is the minimum over splits that still count.
/// A split stops counting when it finished (bounded end), or when it has had nothing to read
/// (at its end, not merely paused) for the idle timeout.
public struct SplitWatermarks: Sendable {
    struct SplitState: Sendable {
        var maxEventTime: Int64 = .min
        var atEnd = false
        var finished = false
        var lastDataNs: UInt64
    }

    public let maxDisorderMs: Int64
    public let idleTimeoutNs: UInt64
    private var splits: [Int: SplitState] = [:]
    public private(set) var current: Int64 = .min

    public init(maxDisorderMs: Int64, idleTimeoutMs: Int64) {
        self.maxDisorderMs = maxDisorderMs
        self.idleTimeoutNs = UInt64(max(0, idleTimeoutMs)) * 1_000_000
    }

    public mutating func record(_ progress: SplitProgress, nowNs: UInt64) {
        var s = splits[progress.split] ?? SplitState(lastDataNs: nowNs)
        if let t = progress.maxEventTime { s.maxEventTime = max(s.maxEventTime, t) }
        // Idle time counts only while the split has nothing left to read, never while paused or unfetched.
        if progress.maxEventTime != nil || !progress.atEnd { s.lastDataNs = nowNs }
        s.atEnd = progress.atEnd
        s.finished = s.finished || progress.finished
        splits[progress.split] = s
    }

    /// The largest event time seen on any split.
    public var maxEventTime: Int64 { splits.values.map(\.maxEventTime).max() ?? .min }

    /// The newest event time of every split that delivered one, for a checkpoint.
    public var eventTimes: [Int: Int64] { splits.compactMapValues { $0.maxEventTime == .min ? nil : $0.maxEventTime } }

    /// The newest event time of every split that holds the watermark at `nowNs` (neither finished nor idle):
    /// what watermark alignment compares. A split with data to read that has delivered nothing yet is `.min`
    /// (it is the slowest until it delivers); one at its end that has delivered nothing is left out, so an
    /// empty partition holds nobody back.
    public func liveEventTimes(nowNs: UInt64) -> [Int: Int64] {
        var out: [Int: Int64] = [:]
        for (split, s) in splits where !s.finished {
            if s.atEnd && (s.maxEventTime == .min || nowNs &- s.lastDataNs >= idleTimeoutNs) { continue }
            out[split] = s.maxEventTime
        }
        return out
    }

    /// Recomputes the watermark at `nowNs`; returns it when it advanced.
    public mutating func advance(nowNs: UInt64) -> Int64? {
        var m = Int64.max
        var holding = false
        var newest = Int64.min
        for s in splits.values {
            newest = max(newest, s.maxEventTime)
            if s.finished { continue }
            if s.atEnd && nowNs &- s.lastDataNs >= idleTimeoutNs { continue }
            holding = true
            m = min(m, s.maxEventTime)
        }
        // When every split is idle or finished, the newest event time seen anywhere is the bound.
        let bound = holding ? m : newest
        guard bound != .min else { return nil }
        let wm = bound &- maxDisorderMs
        guard wm > current else { return nil }
        current = wm
        return wm
    }
}

extension SplitFigures {
    /// Every split a reader reports lag for or delivered event times from, in split order.
    static func of(lag: [Int: Int64], watermarks: SplitWatermarks) -> [SplitFigures] {
        let times = watermarks.eventTimes
        return Set(lag.keys).union(times.keys).sorted().map { split in
            let t = times[split]
            return SplitFigures(
                split: split, lagRows: lag[split], newestEventTimeMs: t,
                watermarkMs: t.map { $0 &- watermarks.maxDisorderMs })
        }
    }
}

/// Keeps stray event times from moving a split's watermark. A row more than `maxAheadMs` ahead of the
/// split's watermark (the newest admitted event time minus `maxDisorderMs`) — in a live run, of the later
/// of that watermark and the wall clock — is refused and does not count as the newest. The first row of a
/// split is checked against the wall clock only (live) or not at all (a backfill has no reference yet).
public struct EventTimeGuard: Sendable {
    public let maxAheadMs: Int64
    public let maxDisorderMs: Int64
    public private(set) var newest: Int64 = .min

    public init(maxAheadMs: Int64, maxDisorderMs: Int64) {
        self.maxAheadMs = maxAheadMs
        self.maxDisorderMs = maxDisorderMs
    }

    /// The event time beyond which a row is refused, or nil when there is no reference yet.
    public func limit(wallClockMs: Int64?) -> Int64? {
        var reference: Int64? = newest == .min ? nil : newest &- maxDisorderMs
        if let wall = wallClockMs { reference = max(reference ?? wall, wall) }
        return reference.map { $0.addingReportingOverflow(maxAheadMs).overflow ? .max : $0 &+ maxAheadMs }
    }

    /// Whether a row with event time `t` is plausible; an admitted row may become the newest.
    public mutating func admit(_ t: Int64, wallClockMs: Int64?) -> Bool {
        if let limit = limit(wallClockMs: wallClockMs), t > limit { return false }
        newest = max(newest, t)
        return true
    }
}
