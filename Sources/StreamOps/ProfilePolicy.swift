import StreamCore

/// The automatic profile policy (`profiles.auto`), a plain state machine over measured lag and input rate:
/// backfill while far behind; steady once caught up; seasonal when the input rate jumps past a threshold
/// or a multiple of its steady baseline; back to steady when it subsides. A profile is kept at least
/// `min_dwell`, and every threshold has hysteresis, so it does not flap.
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
        let decision = decide(r)
        if let decision {
            current = decision.to
            enteredMs = r.nowMs
        }
        return decision
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
