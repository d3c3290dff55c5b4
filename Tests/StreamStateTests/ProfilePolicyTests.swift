import StreamCore
import StreamOps
import Testing

/// The automatic profile policy, driven by scripted readings on a manual timeline.
@Suite struct ProfilePolicyTests {
    let spec = AutoSwitchSpec(
        enabled: true, backfillAboveLag: 1_000_000, steadyBelowLag: 10_000, seasonalAboveRate: nil, minDwellMs: 60_000)

    @Test func backlogThenCaughtUpThenBurstThenCalmGoesBackfillSteadySeasonalSteady() {
        var p = ProfilePolicy(spec: spec, current: "steady", nowMs: 0)
        var seen: [String] = []
        var t: Int64 = 0
        func look(_ lag: Int64, _ rate: Double) {
            t += 10_000
            if let d = p.observe(.init(nowMs: t, lagRows: lag, inputRate: rate)) { seen.append("\(t / 1000)s:\(d.to)") }
        }
        for _ in 0..<9 { look(5_000, 20_000) }  // steady, live: builds the baseline
        for _ in 0..<3 { look(3_000_000, 400_000) }  // a backlog arrives
        for _ in 0..<10 { look(2_000_000, 300_000) }  // catching up
        for _ in 0..<10 { look(2_000, 20_000) }  // caught up
        for _ in 0..<10 { look(50_000, 90_000) }  // a burst: 4.5× the baseline, lag growing
        for _ in 0..<10 { look(1_000, 21_000) }  // calm again
        #expect(seen == ["100s:backfill", "230s:steady", "330s:seasonal", "430s:steady"])
    }

    @Test func noSwitchHappensWithinTheDwellTime() {
        var p = ProfilePolicy(spec: spec, current: "steady", nowMs: 0)
        #expect(p.observe(.init(nowMs: 59_999, lagRows: 5_000_000, inputRate: 0)) == nil)
        #expect(p.observe(.init(nowMs: 60_000, lagRows: 5_000_000, inputRate: 0))?.to == "backfill")
        // Caught up at once: still backfill until its own dwell has passed.
        #expect(p.observe(.init(nowMs: 90_000, lagRows: 0, inputRate: 0)) == nil)
        let back = p.observe(.init(nowMs: 120_000, lagRows: 0, inputRate: 0))
        #expect(back?.to == "steady")
        #expect(back?.reason.contains("below steady_below_lag 10000") == true)
    }

    @Test func aRateThresholdSwitchesToSeasonalAndHysteresisKeepsItThere() {
        var s = spec
        s.seasonalAboveRate = 100_000
        s.minDwellMs = 0
        var p = ProfilePolicy(spec: s, current: "steady", nowMs: 0)
        #expect(p.observe(.init(nowMs: 1, lagRows: 0, inputRate: 120_000))?.to == "seasonal")
        // 90k is below the threshold but above 80 % of it: no flapping back.
        #expect(p.observe(.init(nowMs: 2, lagRows: 0, inputRate: 90_000)) == nil)
        #expect(p.observe(.init(nowMs: 3, lagRows: 0, inputRate: 50_000))?.to == "steady")
    }

    /// Steady with a 20k rows/s baseline after nine looks 10 s apart; returns the policy and the next look's time.
    func steadyWithBaseline() -> (ProfilePolicy, Int64) {
        var p = ProfilePolicy(spec: spec, current: "steady", nowMs: 0)
        var t: Int64 = 0
        for _ in 0..<9 {
            t += 10_000
            _ = p.observe(.init(nowMs: t, lagRows: 5_000, inputRate: 20_000))
        }
        return (p, t)
    }

    @Test func aBurstSwitchWhosePauseWouldAddMoreRowsThanTheLagWaitsUntilTheLagOutgrowsIt() {
        var (p, t) = steadyWithBaseline()
        // The last switch to seasonal stopped rows for 500 ms: at 90k rows/s that adds 45k rows of lag.
        p.noteSwitch(to: "seasonal", pauseMs: 500, nowMs: -1)
        p.noteSwitch(to: "steady", pauseMs: 0, nowMs: -1)
        t += 10_000
        #expect(p.observe(.init(nowMs: t, lagRows: 30_000, inputRate: 90_000)) == nil)
        #expect(p.held?.to == "seasonal")
        #expect(p.held?.reason.contains("adds 45000 rows, not less than the lag 30000") == true)
        t += 10_000
        let made = p.observe(.init(nowMs: t, lagRows: 60_000, inputRate: 90_000))
        #expect(made?.to == "seasonal")
        #expect(p.held == nil)
    }

    @Test func aSwitchNeverMeasuredIsMadeAndItsMeasuredPauseCountsForTheNextOne() {
        var (p, t) = steadyWithBaseline()
        t += 10_000
        // No switch to seasonal was measured yet: the burst switches.
        #expect(p.observe(.init(nowMs: t, lagRows: 30_000, inputRate: 90_000))?.to == "seasonal")
        p.noteSwitch(to: "seasonal", pauseMs: 800, nowMs: t)
        #expect(p.lastPauseMs["seasonal"] == 800)
    }

    @Test func noSwitchButToBackfillIsMadeWhenItsPauseWouldCarryTheLagPastBackfillAboveLag() {
        var s = spec
        s.minDwellMs = 0
        s.steadyBelowLag = 1_000_000
        var p = ProfilePolicy(spec: s, current: "seasonal", nowMs: 0)
        // Going back to steady, or to backfill, last stopped rows for 2 s: at 100k rows/s, 200k rows of lag.
        p.noteSwitch(to: "steady", pauseMs: 2_000, nowMs: 0)
        p.noteSwitch(to: "backfill", pauseMs: 2_000, nowMs: 0)
        p.noteSwitch(to: "seasonal", pauseMs: 0, nowMs: 0)
        #expect(p.observe(.init(nowMs: 1, lagRows: 900_000, inputRate: 100_000)) == nil)
        #expect(p.held?.to == "steady")
        #expect(p.held?.reason.contains("past backfill_above_lag 1000000") == true)
        // With less lag it goes back to steady.
        #expect(p.observe(.init(nowMs: 2, lagRows: 500_000, inputRate: 100_000))?.to == "steady")
        // Backfill is not held by that rule: 2M rows of lag, 200k more from the switch.
        #expect(p.observe(.init(nowMs: 3, lagRows: 2_000_000, inputRate: 100_000))?.to == "backfill")
    }

    @Test func aSwitchByHandRestartsTheDwell() {
        var p = ProfilePolicy(spec: spec, current: "steady", nowMs: 0)
        p.noteSwitch(to: "seasonal", pauseMs: 0, nowMs: 100_000)
        #expect(p.current == "seasonal")
        // Calm, but within the dwell of the switch made by hand.
        #expect(p.observe(.init(nowMs: 150_000, lagRows: 0, inputRate: 1_000)) == nil)
        #expect(p.observe(.init(nowMs: 160_000, lagRows: 0, inputRate: 1_000))?.to == "steady")
    }
}
