import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a cron job relies on: the state directory's lock (a second run of the same job exits 7 naming the
/// holder; a lock a killed run left is taken over with a warning) and a second signal during the final
/// checkpoint (exit 130 at once, with the summary line).
@Suite(.serialized) struct CronTests {
    /// A job with RocksDB state that runs until stopped: a generator held back by a throttled sink.
    static func heldPipeline(in dir: URL) throws -> URL {
        let file = dir.appendingPathComponent("nightly.yaml")
        try """
        name: nightly
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: unbounded, rate: 2000, keys: 20 }
        operators:
          - filter: "amount >= 0"
        sink:
          null: {}
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 32MiB }
        profiles:
          overrides: { steady: { parallelism: 1, batch_size: 64, sink: { records_per_second: 100 } } }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// `streamctl ARGS` in the background, its stderr in a file the test reads while it runs.
    final class Background {
        let process: Process
        let errFile: URL
        let out = Pipe()

        init(_ arguments: [String], dir: URL, stdout: Pipe? = nil) throws {
            errFile = dir.appendingPathComponent("stderr-\(UUID().uuidString).txt")
            process = try startStreamctl(arguments, log: errFile, stdout: stdout)
        }

        var stderr: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }

        /// Waits (at most a minute) until `condition` holds; false if the process ended or time ran out first.
        func wait(for condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if condition() { return true }
                if !process.isRunning { return condition() }
                usleep(20_000)
            }
            return false
        }

        /// Waits for the exit (at most `seconds`; killed past that) and returns the status.
        func exit(within seconds: TimeInterval = 60) -> Int32 {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return process.terminationStatus
        }

        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// The lock file's JSON, once it names `pid`.
    static func lockHolder(_ dir: URL, pid: Int32) -> [String: Any]? {
        let path = dir.appendingPathComponent("state/streamctl.lock")
        guard let data = try? Data(contentsOf: path),
            let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            (doc["pid"] as? Int).map(Int32.init) == pid
        else { return nil }
        return doc
    }

    @Test func aSecondRunOfTheSameJobExits7NamingTheHoldersPidStartTimeAndPipeline() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.heldPipeline(in: dir)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let first = try Background(["run", pipeline.path, "--progress", "off"], dir: dir)
        defer { first.kill() }
        let pid = first.process.processIdentifier
        #expect(first.wait { Self.lockHolder(dir, pid: pid) != nil }, "\(first.stderr)")
        let holder = try #require(Self.lockHolder(dir, pid: pid))
        #expect(holder["pipeline"] as? String == pipeline.standardizedFileURL.path)
        let started = try #require(holder["started_at_ms"] as? Int)
        #expect(Int64(started) >= before - 1000 && Int64(started) <= Int64(Date().timeIntervalSince1970 * 1000))
        let startedText = try #require(holder["started_at"] as? String)

        let summary = dir.appendingPathComponent("summary.jsonl")
        let second = try streamctlRun(["run", pipeline.path, "--progress", "off", "--summary", summary.path])
        #expect(second.status == 7)
        #expect(
            second.stderr.contains(
                "is in use by streamctl process \(pid) (started \(startedText), pipeline \(pipeline.standardizedFileURL.path))"),
            "\(second.stderr)")
        let line = jsonLines(try String(contentsOf: summary, encoding: .utf8)).last
        #expect(line?["status"] as? String == "failed")
        #expect((line?["error"] as? String)?.contains("streamctl process \(pid)") == true)

        // The holder was not disturbed, and ends normally.
        #expect(first.process.isRunning)
        kill(pid, SIGTERM)
        #expect(first.exit() == 0, "\(first.stderr)")
        // A clean exit leaves the lock empty: the next run takes it without a warning.
        let lock = try String(contentsOf: dir.appendingPathComponent("state/streamctl.lock"), encoding: .utf8)
        #expect(lock.isEmpty)
    }

    @Test(arguments: ["text", "json"])
    func aLockLeftByAKilledRunIsTakenOverWithAWarning(logFormat: String) throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.heldPipeline(in: dir)
        let first = try Background(["run", pipeline.path, "--progress", "off"], dir: dir)
        defer { first.kill() }
        let pid = first.process.processIdentifier
        #expect(first.wait { Self.lockHolder(dir, pid: pid) != nil }, "\(first.stderr)")
        kill(pid, SIGKILL)
        #expect(first.exit() == SIGKILL)
        // The kernel released the flock; the file still names the dead run.
        #expect(Self.lockHolder(dir, pid: pid) != nil)

        let next = try streamctlRun([
            "run", pipeline.path, "--progress", "off", "--fresh", "--max-records", "50", "--log-format", logFormat,
        ])
        #expect(next.status == 0, "\(next.stderr)")
        let expected = "took over the stale lock \(dir.path)/state/streamctl.lock of streamctl process \(pid) ("
        if logFormat == "text" {
            #expect(next.stderr.contains("warning: " + expected), "\(next.stderr)")
        } else {
            let warning = jsonLines(next.stderr).first { ($0["message"] as? String)?.hasPrefix(expected) == true }
            #expect(warning?["level"] as? String == "warning", "\(next.stderr)")
        }
        // Released again at the end.
        let lock = try String(contentsOf: dir.appendingPathComponent("state/streamctl.lock"), encoding: .utf8)
        #expect(lock.isEmpty)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSecondSignalDuringTheFinalCheckpointExits130AtOnceWithTheSummary(signal: Int32) throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let file = dir.appendingPathComponent("checkpointed.yaml")
        try """
        name: checkpointed
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: unbounded, keys: 20 }
        sink:
          stdout: { format: json }
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 32MiB }
        checkpoints: { dir: \(dir.path)/checkpoints }
        """.write(to: file, atomically: true, encoding: .utf8)
        // The sink writes to a pipe nobody reads: once the pipe is full it blocks for good, so the final
        // checkpoint, whose barrier reaches the sink behind queued rows, cannot complete.
        let stdout = Pipe()
        let summary = dir.appendingPathComponent("summary.jsonl")
        let job = try Background(
            ["run", file.path, "--progress", "off", "--summary", summary.path], dir: dir, stdout: stdout)
        defer { job.kill() }
        let fd = stdout.fileHandleForReading.fileDescriptor
        let capacity = fcntl(fd, 1032)  // F_GETPIPE_SZ
        #expect(capacity > 0)
        #expect(
            job.wait {
                var queued: Int32 = 0
                // FIONREAD: bytes waiting in the pipe.
                return ioctl(fd, 0x541B, &queued) == 0 && queued >= capacity
            }, "\(job.stderr)")

        kill(job.process.processIdentifier, signal)
        #expect(job.wait { job.stderr.contains("stopping: taking a final checkpoint (signal again to exit at once)") })
        #expect(job.process.isRunning, "the final checkpoint completed although the sink is blocked: \(job.stderr)")
        kill(job.process.processIdentifier, signal)
        #expect(job.exit(within: 30) == 130, "\(job.stderr)")
        #expect(job.stderr.contains("second signal: exiting without draining"))
        let line = jsonLines(try String(contentsOf: summary, encoding: .utf8)).last
        #expect(line?["status"] as? String == "interrupted")
        #expect(jsonLines(job.stderr).last?["status"] as? String == "interrupted")
    }
}
