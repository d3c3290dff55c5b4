import Foundation
import StreamCore
import Testing

@testable import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A checkpoint directory that stops answering (a hung mount), made real with a FIFO where the writer puts
/// checkpoint 1's manifest: opening it for writing blocks until someone opens it for reading. The writer
/// thread is held there; the supervisor is not.
extension CheckpointTests {
    /// Makes `checkpoints/chk-ID/.manifest.json.tmp` a FIFO; returns its path.
    func hangManifest(of id: Int64, in checkpoints: URL) throws -> String {
        let dir = checkpoints.appendingPathComponent("chk-\(id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let fifo = dir.appendingPathComponent(".manifest.json.tmp").path
        #expect(mkfifo(fifo, 0o644) == 0)
        return fifo
    }

    /// Lets a writer blocked on `fifo` go: opens it for reading and drains what it writes, on a thread of its own.
    func answer(_ fifo: String) {
        Thread {
            let fd = open(fifo, O_RDONLY)
            guard fd >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while read(fd, &buffer, buffer.count) > 0 {}
            close(fd)
        }.start()
    }

    @Test func aCheckpointDirectoryThatStopsAnsweringFailsTheJobWithTheCauseInsteadOfHangingIt() throws {
        let dir = temp()
        let checkpoints = dir.appendingPathComponent("checkpoints")
        let fifo = try hangManifest(of: 1, in: checkpoints)
        defer {
            answer(fifo)
            try? FileManager.default.removeItem(at: dir)
        }
        var y = yaml(dir, interval: "100ms")
        y = y.replacingOccurrences(of: "rows: 40000,", with: "rows: unbounded, rate: 20000,")
        y = y.replacingOccurrences(of: "tolerable_failures: 1", with: "tolerable_failures: 1, timeout: 300ms")
        let outcome = try runner(y, parallelism: 1).run()
        #expect(outcome.failure?.kind == .checkpoint)
        let message = outcome.failure?.message ?? ""
        #expect(message.contains("more than checkpoint.tolerable_failures (1)"), "\(message)")
        #expect(message.contains("writing it to \(checkpoints.path) has not finished"), "\(message)")
        #expect(message.contains("the checkpoint directory does not answer"), "\(message)")
        #expect(outcome.summary.json.contains("\"checkpoints_completed\":0"))
        #expect(outcome.summary.checkpoints?.failed == 2)
    }

    @Test func aWriteThatHangsPastTheTimeoutIsCountedAndItsOutputPublishedByTheNextCheckpoint() throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = 20_000
        let expected = try caughtUpOutput(rows: rows)

        // Driven by hand: checkpoint 1 hangs in the file system, the coordinator goes on looking.
        let fifo = try hangManifest(of: 1, in: dir.appendingPathComponent("checkpoints"))
        var y = yaml(dir, rows: rows, interval: "1h")
        y = y.replacingOccurrences(of: "tolerable_failures: 1", with: "tolerable_failures: 5, timeout: 300ms")
        let (r, job, coordinator) = try handDriven(y, parallelism: 2)
        let first = coordinator.trigger(now: r.clock.monotonicNs())
        #expect(first == 1)
        #expect(job.barriers.wait(for: first, timeoutMs: 120_000) == .completed)
        // Each look returns while the write hangs; past the timeout it is counted failed, once.
        try tick(coordinator) { coordinator.stats.failed > 0 }
        #expect(coordinator.stats.failed == 1)
        #expect(coordinator.stats.completed == 0)
        #expect(try lines(dir.appendingPathComponent("out")).isEmpty, "published without a manifest")

        // The directory answers again: the write fails (a FIFO takes no fsync), its output waits for the next.
        answer(fifo)
        try tick(coordinator) { coordinator.stats.failed >= 2 }
        #expect(coordinator.stats.failed == 2)
        #expect(!coordinator.store.ids().contains(first))

        try finish(r, job, coordinator)
        #expect(coordinator.stats.completed == 1)
        #expect(try lines(dir.appendingPathComponent("out")) == expected)
    }
}
