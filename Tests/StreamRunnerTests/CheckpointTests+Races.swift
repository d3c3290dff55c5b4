import Foundation
import StreamCore
import Testing

@testable import StreamRunner

/// Interleavings of checkpoints with failures and rescales, each forced by the test rather than left to
/// thread timing: nothing is published that the checkpoint a restart restores does not account for, and no
/// aligned barrier's output is left unpublished.
extension CheckpointTests {
    /// Every (shop, window) once, and the orders of all windows add up to the rows generated.
    func expectEachWindowOnce(_ lines: [String], rows: Int) throws {
        var windows: Set<String> = []
        var twice: [String] = []
        var orders = 0
        for line in lines {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let key = "\(row["shop"] ?? "")|\(row["window_start"] ?? "")"
            if !windows.insert(key).inserted { twice.append(key) }
            orders += (row["orders"] as? Int) ?? 0
        }
        #expect(twice.isEmpty, "\(twice.count) windows written twice, e.g. \(twice.prefix(2))")
        #expect(orders == rows)
    }

    @Test(arguments: [1, 2])
    func aJobThatFailsAfterItsSinksClosedPublishesNothingAndItsRestartWritesEachWindowOnce(parallelism: Int) throws {
        let reference = temp()
        let dir = temp()
        defer {
            try? FileManager.default.removeItem(at: reference)
            try? FileManager.default.removeItem(at: dir)
        }
        let rows = 20_000
        #expect(try runner(yaml(reference, rows: rows), parallelism: 1).run().failure == nil)
        let expected = try lines(reference.appendingPathComponent("out"))
        try expectEachWindowOnce(expected, rows: rows)

        // Gated: every worker has exited (the input ended, the windows fired, the sinks closed) before the
        // runner writes the job's last manifest; the job fails in between.
        let crashing = try runner(yaml(dir, rows: rows), parallelism: parallelism)
        try crashing.start()
        let job = try #require(crashing.job)
        while !job.isFinished { usleep(1_000) }
        #expect(try lines(dir.appendingPathComponent("out")).isEmpty, "published before a manifest covered it")
        job.fail(StreamError(.internal, "failure after the input ended"))
        #expect(crashing.wait().failure != nil)
        #expect(try lines(dir.appendingPathComponent("out")).isEmpty)

        // The restart finds no checkpoint: it reads everything again and writes each window once.
        let outcome = try crashing.run()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let got = try lines(dir.appendingPathComponent("out"))
        try expectEachWindowOnce(got, rows: rows)
        #expect(got == expected)
    }

    /// What a caught-up run of `rows` rows writes, with no checkpoint in its way.
    func caughtUpOutput(rows: Int) throws -> [String] {
        let reference = temp()
        defer { try? FileManager.default.removeItem(at: reference) }
        let caughtUp = RunOptions(bound: .caughtUp, bindArenas: false)
        let plain = try runner(yaml(reference, rows: rows, interval: "1h"), parallelism: 1, options: caughtUp).run()
        #expect(plain.failure == nil)
        let expected = try lines(reference.appendingPathComponent("out"))
        #expect(expected.count > 100)
        return expected
    }

    /// A caught-up run whose checkpoints the test drives by hand through its own coordinator; returns once
    /// every row is read (the sources then wait for a final barrier).
    func handDriven(_ yaml: String, parallelism: Int) throws -> (JobRunner, Job, CheckpointCoordinator) {
        let r = try runner(yaml, parallelism: parallelism, options: RunOptions(bound: .caughtUp, bindArenas: false))
        try r.start()
        let job = try #require(r.job)
        let coordinator = CheckpointCoordinator(
            store: try #require(r.checkpointStore), job: job, sink: try #require(r.assembly).sink, spec: r.spec,
            clock: r.clock, backend: "rocksdb", restoredFrom: nil)
        while !job.sourcesCaughtUp { usleep(1_000) }
        return (r, job, coordinator)
    }

    /// Looks again and again (the writer works on its own thread) until `done`, for two minutes at most.
    func tick(_ coordinator: CheckpointCoordinator, until done: () -> Bool) throws {
        for _ in 0..<120_000 where !done() {
            try coordinator.tick()
            usleep(1_000)
        }
    }

    /// Stops a hand-driven run at a final checkpoint and ends it.
    func finish(_ r: JobRunner, _ job: Job, _ coordinator: CheckpointCoordinator) throws {
        coordinator.stopWithFinalCheckpoint()
        try tick(coordinator) { job.isFinished }
        try job.wait()
        try coordinator.jobEnded(failed: false)
        try r.assembly?.state.close()
    }

    @Test(arguments: [1, 2])
    func aRescaleBarrierInjectedBetweenTheCoordinatorsLookAndItsTriggerIsACheckpointWithItsOutput(
        parallelism: Int
    ) throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = 20_000
        let expected = try caughtUpOutput(rows: rows)

        // Driven by hand, one step at a time: the coordinator looks, a rescale injects its barrier, then the
        // coordinator triggers its own.
        let (r, job, coordinator) = try handDriven(yaml(dir, rows: rows, interval: "1h"), parallelism: parallelism)
        try coordinator.tick()
        let foreign = try job.rescale(stage: "hourly", to: 3 - parallelism)
        let own = coordinator.trigger(now: r.clock.monotonicNs())
        #expect(own > foreign)
        #expect(job.barriers.wait(for: foreign, timeoutMs: 120_000) == .completed)
        #expect(job.barriers.wait(for: own, timeoutMs: 120_000) == .completed)
        // The writer writes them on its own thread, one after the other.
        try tick(coordinator) { coordinator.stats.completed + coordinator.stats.failed >= 2 }
        #expect(coordinator.store.ids().contains(foreign), "the rescale's barrier did not become a checkpoint")
        #expect(coordinator.stats.completed == 2)

        try finish(r, job, coordinator)
        #expect(try lines(dir.appendingPathComponent("out")) == expected)
    }
}
