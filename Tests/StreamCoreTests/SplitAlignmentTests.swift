import StreamCore
import Testing

@Suite struct SplitAlignmentTests {
    @Test func splitAheadOfTheSlowestByMoreThanTheDriftIsPausedAndResumedWithinHalfOfIt() {
        var a = SplitAlignment()
        let first = a.update(live: [0: 1_000, 1: 62_000], slowest: 1_000, maxDriftMs: 60_000)
        #expect(first)
        #expect(a.paused == [1])
        // Within the drift but not within half of it: stays paused.
        let second = a.update(live: [0: 10_000, 1: 62_000], slowest: 10_000, maxDriftMs: 60_000)
        #expect(!second)
        let third = a.update(live: [0: 40_000, 1: 62_000], slowest: 40_000, maxDriftMs: 60_000)
        #expect(third)
        #expect(a.paused.isEmpty)
        #expect(a.pauses == 1 && a.resumes == 1)
    }

    @Test func aSplitThatMovesFurtherPerPollThanTheDriftIsHeldToTwiceItsStep() {
        var a = SplitAlignment()
        _ = a.update(live: [0: 0, 1: 0], slowest: 0, maxDriftMs: 1_000)
        // Split 1's poll moved it 10 s: it is paused only beyond 20 s ahead, resumed within 10 s.
        _ = a.update(live: [0: 0, 1: 10_000], slowest: 0, maxDriftMs: 1_000)
        #expect(a.paused.isEmpty)
        _ = a.update(live: [0: 0, 1: 25_000], slowest: 0, maxDriftMs: 1_000)
        // The last step was 15 s: the bound is 30 s now.
        #expect(a.paused.isEmpty)
        // A small step narrows it again: 1 s moved, 2 s bound, 26 s ahead.
        _ = a.update(live: [0: 0, 1: 26_000], slowest: 0, maxDriftMs: 1_000)
        #expect(a.paused == [1])
    }

    @Test func theSlowestIsNeverPausedAndOffResumesEverything() {
        var a = SplitAlignment()
        _ = a.update(live: [0: 0, 1: 500_000, 2: 900_000], slowest: 0, maxDriftMs: 1_000)
        #expect(a.paused == [1, 2])
        // The slowest split of another worker holds these back too.
        _ = a.update(live: [1: 500_000, 2: 900_000], slowest: 0, maxDriftMs: 1_000)
        #expect(a.paused == [1, 2])
        _ = a.update(live: [1: 500_000, 2: 900_000], slowest: 500_000, maxDriftMs: 1_000)
        #expect(a.paused == [2])
        _ = a.update(live: [1: 500_000, 2: 900_000], slowest: 500_000, maxDriftMs: nil)
        #expect(a.paused.isEmpty)
    }

    @Test func idleFinishedAndEmptySplitsHoldNobodyBack() {
        var w = SplitWatermarks(maxDisorderMs: 0, idleTimeoutMs: 1_000)
        w.record(SplitProgress(split: 0, maxEventTime: 100_000), nowNs: 0)
        w.record(SplitProgress(split: 1, maxEventTime: 5, atEnd: false, finished: true), nowNs: 0)
        w.record(SplitProgress(split: 2, maxEventTime: nil, atEnd: true), nowNs: 0)
        w.record(SplitProgress(split: 3, maxEventTime: 7, atEnd: true), nowNs: 0)
        w.record(SplitProgress(split: 4, maxEventTime: nil, atEnd: false), nowNs: 0)
        // Split 3 is at its end but not idle yet; split 4 has data it has not delivered: it is the slowest.
        #expect(w.liveEventTimes(nowNs: 500_000_000) == [0: 100_000, 3: 7, 4: .min])
        w.record(SplitProgress(split: 4, maxEventTime: 50_000), nowNs: 1_500_000_000)
        w.record(SplitProgress(split: 0, maxEventTime: nil, atEnd: false), nowNs: 1_500_000_000)
        #expect(w.liveEventTimes(nowNs: 1_500_000_000) == [0: 100_000, 4: 50_000])
    }

    @Test func theBoardGivesTheSlowestOverWorkersThatKnowOne() {
        let board = AlignmentBoard(workers: 3)
        #expect(board.post(worker: 0, slowest: 50) == 50)
        #expect(board.post(worker: 1, slowest: nil) == 50)
        #expect(board.post(worker: 2, slowest: 20) == 20)
        #expect(board.post(worker: 2, slowest: nil) == 50)
    }
}
