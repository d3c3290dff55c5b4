import Testing

@testable import StreamCore
@testable import StreamRunner

/// The progress line from two snapshots two seconds apart.
@Suite struct ProgressLineTests {
    func worker(_ stage: String, rowsIn: Int64, rowsOut: Int64, busyNs: Int64, lag: Int64? = nil) -> WorkerSnapshot {
        WorkerSnapshot(
            stage: stage, worker: 0, rowsIn: rowsIn, rowsOut: rowsOut, busyNs: busyNs, idleNs: 0, backPressuredNs: 0,
            lateRows: 0, watermark: 0, inputFill: 0, inputCapacity: 8, extra: lag.map { ["lag": $0] } ?? [:])
    }

    @Test func rowsStillBehindNeverShowAnETAOfZero() {
        let before = JobSnapshot(
            takenAtNs: 0, workers: [worker("source", rowsIn: 0, rowsOut: 0, busyNs: 0, lag: 3_000_000)], state: [:])
        let after = JobSnapshot(
            takenAtNs: 2_000_000_000,
            workers: [worker("source", rowsIn: 2_766_000, rowsOut: 2_766_000, busyNs: 0, lag: 234_000)], state: [:])
        let line = ProgressReporter.line(now: after, since: before)
        #expect(line.contains("lag 234k"))
        #expect(line.hasSuffix("eta <1s"))
        #expect(!line.contains("eta 0s"))
    }

    @Test func busyShareIsCappedAtAHundredPercent() {
        let before = JobSnapshot(takenAtNs: 0, workers: [worker("sink", rowsIn: 0, rowsOut: 0, busyNs: 0)], state: [:])
        let after = JobSnapshot(
            takenAtNs: 2_000_000_000, workers: [worker("sink", rowsIn: 10, rowsOut: 10, busyNs: 2_040_000_000)],
            state: [:])
        #expect(ProgressReporter.line(now: after, since: before).contains("sink 100% busy"))
    }

    @Test func etaIsRoundedUpAndSpelledInMinutesAndHours() {
        #expect(ProgressReporter.eta(seconds: 0.2) == "<1s")
        #expect(ProgressReporter.eta(seconds: 41.2) == "42s")
        #expect(ProgressReporter.eta(seconds: 185) == "3m05s")
        #expect(ProgressReporter.eta(seconds: 7_800) == "2h10m")
    }
}
