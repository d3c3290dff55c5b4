import Foundation
import StreamCore
import Testing

@testable import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `checkpoint.interval` and `checkpoint.min_pause` on the coordinator's own clock, stepped by the test: the
/// next checkpoint waits for both, the interval from the last trigger and the pause from the last end.
extension CheckpointTests {
    @Test func theNextCheckpointWaitsForTheMinimumPauseAfterTheLastOneEndedEvenWhenTheIntervalPassed() throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        var y = yaml(dir, rows: 20_000, interval: "100ms")
        y = y.replacingOccurrences(of: "tolerable_failures: 1", with: "tolerable_failures: 1, min_pause: 1s")
        let r = try runner(y, parallelism: 1, options: RunOptions(bound: .caughtUp, bindArenas: false))
        try r.start()
        let job = try #require(r.job)
        let clock = SteppedClock()
        let coordinator = CheckpointCoordinator(
            store: try #require(r.checkpointStore), job: job, sink: try #require(r.assembly).sink, spec: r.spec,
            clock: clock, backend: "rocksdb", restoredFrom: nil)
        while !job.sourcesCaughtUp { usleep(1_000) }
        let before = job.lastInjectedBarrier

        // 100 ms: the interval has passed, the minimum pause (counted from the start) has not.
        clock.advance(ms: 100)
        try coordinator.tick()
        #expect(job.lastInjectedBarrier == before)
        clock.advance(ms: 900)
        try coordinator.tick()
        let first = job.lastInjectedBarrier
        #expect(first == before + 1)
        #expect(job.barriers.wait(for: first, timeoutMs: 120_000) == .completed)
        try tick(coordinator) { coordinator.stats.completed == 1 }

        // Ended at 1 s on the coordinator's clock: 999 ms later nothing starts, at 1 s the next one does.
        clock.advance(ms: 999)
        try coordinator.tick()
        #expect(job.lastInjectedBarrier == first)
        clock.advance(ms: 1)
        try coordinator.tick()
        #expect(job.lastInjectedBarrier == first + 1)

        try finish(r, job, coordinator)
    }
}
