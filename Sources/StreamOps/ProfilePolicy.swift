import StreamCore

/// The automatic profile policy (`profiles.auto`), a plain state machine over measured lag and input rate:
/// backfill while far behind; steady once caught up; seasonal when the input rate jumps past a threshold
/// or a multiple of its steady baseline; back to steady when it subsides. A profile is kept at least
/// `min_dwell`, and every threshold has hysteresis, so it does not flap.
///
/// A switch has a cost: while its barrier stops the rows (the stop-the-world pause, measured on every switch
/// and reported with `noteSwitch`), the input keeps arriving, so the switch itself adds about
/// input rate × pause rows of lag. The policy makes no switch whose own cost adds backlog faster than the
/// switch removes it: a switch meant to remove lag (to backfill, or to seasonal for a burst that builds lag)
/// waits while the rows its pause would add are at least the lag it is for, and no switch but one to
/// backfill is made when the rows it adds would carry the lag past `backfill_above_lag`. Such a held switch is
/// `held` (for the log) until it is made or no longer wanted.
public struct ProfilePolicy: Sendable {
    /// One look at the job.
    public struct Reading: Sendable {
        public var nowMs: Int64
        /// Records behind the end of the input.
        public var lagRows: Int64
        /// Rows read per second since the last reading.
        public var inputRate: Double
        public init(nowMs: Int64, lagRows: Int64, inputRate: Double) {
            self.nowMs = nowMs
            self.lagRows = lagRows
            self.inputRate = inputRate
        }
    }

    public struct Decision: Sendable, Equatable {
        public var to: String
        public var reason: String
    }

    public let spec: AutoSwitchSpec
    /// The steady input rate is this many times its baseline: a burst.
    public let burstFactor: Double
    public private(set) var current: String
    private var enteredMs: Int64
    /// Exponentially weighted input rate while steady.
    public private(set) var baselineRate: Double?
    /// The stop-the-world pause of the last switch to each profile, milliseconds.
    public private(set) var lastPauseMs: [String: Int64] = [:]
    /// The switch the policy wants but holds back for its cost, and why; nil when none.
    public private(set) var held: Decision?

    public init(spec: AutoSwitchSpec, current: String, nowMs: Int64, burstFactor: Double = 3) {
        self.spec = spec
        self.current = current
        self.enteredMs = nowMs
        self.burstFactor = burstFactor
    }

    /// The switch to make now, if any (the caller makes it, then the policy counts the new profile's dwell).
    public mutating func observe(_ r: Reading) -> Decision? {
        if current == "steady" && r.lagRows < spec.steadyBelowLag {
            baselineRate = baselineRate.map { 0.8 * $0 + 0.2 * r.inputRate } ?? r.inputRate
        }
        guard r.nowMs - enteredMs >= spec.minDwellMs else { return nil }
        guard let decision = decide(r) else {
            held = nil
            return nil
        }
        if let reason = costOutweighs(decision, r) {
            held = Decision(to: decision.to, reason: reason)
            return nil
        }
        held = nil
        current = decision.to
        enteredMs = r.nowMs
        return decision
    }

    /// A switch was made (by this policy or by hand): its profile is current from `nowMs`, its dwell starts
    /// then, and its measured pause is what the next switch to that profile is expected to cost.
    public mutating func noteSwitch(to profile: String, pauseMs: Int64, nowMs: Int64) {
        if profile != current { enteredMs = nowMs }
        current = profile
        lastPauseMs[profile] = max(0, pauseMs)
    }

    /// Why `decision` costs more than it gains, or nil when it is worth making. A profile never switched to
    /// has no measured cost yet: the first switch to it measures one.
    private func costOutweighs(_ decision: Decision, _ r: Reading) -> String? {
        guard let pause = lastPauseMs[decision.to], pause > 0, r.inputRate > 0 else { return nil }
        let added = Int64(r.inputRate * Double(pause) / 1_000)
        let removesLag = decision.to == "backfill" || (decision.to == "seasonal" && r.lagRows >= spec.steadyBelowLag)
        if removesLag && added >= r.lagRows {
            return "holding \(current) instead of \(decision.to) (\(decision.reason)): its last switch stopped rows "
                + "for \(pause) ms, which at \(Int(r.inputRate)) rows/s adds \(added) rows, not less than the lag "
                + "\(r.lagRows) it is for"
        }
        if decision.to != "backfill" && r.lagRows + added > spec.backfillAboveLag {
            return "holding \(current) instead of \(decision.to) (\(decision.reason)): its last switch stopped rows "
                + "for \(pause) ms, which at \(Int(r.inputRate)) rows/s adds \(added) rows and takes the lag "
                + "past backfill_above_lag \(spec.backfillAboveLag)"
        }
        return nil
    }

    private func decide(_ r: Reading) -> Decision? {
        if r.lagRows > spec.backfillAboveLag && current != "backfill" {
            return Decision(
                to: "backfill", reason: "lag \(r.lagRows) rows is above backfill_above_lag \(spec.backfillAboveLag)")
        }
        switch current {
        case "backfill":
            if r.lagRows < spec.steadyBelowLag {
                return Decision(
                    to: "steady", reason: "caught up: lag \(r.lagRows) rows is below steady_below_lag \(spec.steadyBelowLag)")
            }
        case "seasonal":
            let overThreshold = spec.seasonalAboveRate.map { r.inputRate > 0.8 * Double($0) } ?? false
            let overBaseline = baselineRate.map { r.inputRate > 1.5 * $0 } ?? false
            if !overThreshold && !overBaseline && r.lagRows < spec.steadyBelowLag {
                return Decision(to: "steady", reason: "the burst subsided: input \(Int(r.inputRate)) rows/s, lag \(r.lagRows)")
            }
        default:  // steady, or a user's profile
            if let limit = spec.seasonalAboveRate, r.inputRate > Double(limit) {
                return Decision(
                    to: "seasonal", reason: "input \(Int(r.inputRate)) rows/s is above seasonal_above_rate \(limit)")
            }
            if let base = baselineRate, base > 0, r.inputRate > burstFactor * base, r.lagRows >= spec.steadyBelowLag {
                return Decision(
                    to: "seasonal",
                    reason: "input \(Int(r.inputRate)) rows/s is \(Int(r.inputRate / base))× its steady baseline "
                        + "\(Int(base)) and lag is \(r.lagRows) rows")
            }
        }
        return nil
    }
}
