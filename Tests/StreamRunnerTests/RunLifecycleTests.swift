import Foundation
import StreamCore
import StreamPipeline
import StreamRunner
import Testing

/// What a rerun, a second process or a stop finds and does: checked before anything runs.
@Suite struct RunLifecycleTests {
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lifecycle-\(UUID().uuidString)")
        var path: String { url.path }
        init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func write(_ relative: String, _ text: String) {
            let file = url.appendingPathComponent(relative)
            try? FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? text.write(to: file, atomically: false, encoding: .utf8)
        }
        func exists(_ relative: String) -> Bool {
            FileManager.default.fileExists(atPath: url.appendingPathComponent(relative).path)
        }
    }

    func spec(_ dir: Scratch, backend: String = "rocksdb", rows: String = "2000", deadLetter: Bool = false) throws
        -> PipelineSpec
    {
        try PipelineLoader.load(
            yaml: """
                name: lifecycle
                source:
                  generator: { seed: 3, rows: \(rows), keys: 20, splits: 2, step: 1s, start_time: "2026-11-27T00:00:00Z" }
                  event_time: { field: ts, max_disorder: 1s }
                \(deadLetter ? "  on_bad_record: dead_letter\n  dead_letter_path: \(dir.path)/bad.jsonl" : "")
                operators:
                  - key_by: shop
                  - window: { tumbling: 10m, aggregate: { orders: count() } }
                sink:
                  file: { path: \(dir.path)/out, format: json }
                state: { backend: \(backend), dir: \(dir.path)/state }
                """, file: "lifecycle.yaml")
    }

    func failure(_ spec: PipelineSpec, _ policy: LeftoverPolicy) -> PreflightFailure? {
        do {
            _ = try RunPreflight(spec: spec, policy: policy).prepare(log: { _ in })
            return nil
        } catch {
            return error
        }
    }

    @Test func stateLeftByAnEarlierRunIsRefusedWithItsDirectoryNamed() throws {
        let dir = Scratch()
        dir.write("state/000007.sst", "window state")
        let found = failure(try spec(dir), .refuse)
        #expect(found?.kind == .leftoverState)
        #expect(found?.message.contains("state directory \(dir.path)/state holds state of an earlier run") == true)
        #expect(found?.message.contains("--fresh") == true)
        #expect(dir.exists("state/000007.sst"))
    }

    @Test func freshDiscardsTheEarlierStateAndOutput() throws {
        let dir = Scratch()
        dir.write("state/000007.sst", "window state")
        dir.write("out/part-0-0.json", "{}\n")
        dir.write("out/d=1/_partial-part-1-0.json", "{}\n")
        #expect(failure(try spec(dir), .fresh) == nil)
        #expect(!dir.exists("state/000007.sst"))
        #expect(!dir.exists("out/part-0-0.json"))
        #expect(!dir.exists("out/d=1/_partial-part-1-0.json"))
    }

    @Test func earlierOutputIsRefusedWithoutFreshOrAppend() throws {
        let dir = Scratch()
        dir.write("out/d=1/part-0-0.json", "{}\n")
        let found = failure(try spec(dir, backend: "memory"), .refuse)
        #expect(found?.kind == .leftoverOutput)
        #expect(found?.message.contains("\(dir.path)/out (1 part files)") == true)
        #expect(failure(try spec(dir, backend: "memory"), .append) == nil)
        #expect(dir.exists("out/d=1/part-0-0.json"))
    }

    @Test func deadLetterFileOfAnEarlierRunIsRefusedAndFreshRemovesIt() throws {
        let dir = Scratch()
        dir.write("bad.jsonl", "{\"origin\":\"x\"}\n")
        let s = try spec(dir, backend: "memory", deadLetter: true)
        #expect(failure(s, .refuse)?.message.contains("\(dir.path)/bad.jsonl") == true)
        #expect(failure(s, .fresh) == nil)
        #expect(!dir.exists("bad.jsonl"))
    }

    @Test func inProgressFilesADeadRunLeftAreRemovedAtStart() throws {
        let dir = Scratch()
        dir.write("out/d=1/.part-0-3.json.inprogress", "{\"orders\":")
        #expect(failure(try spec(dir, backend: "memory"), .refuse) == nil)
        #expect(!dir.exists("out/d=1/.part-0-3.json.inprogress"))
    }

    @Test func outputPathThatIsAFileFailsBeforeTheJobStarts() throws {
        let dir = Scratch()
        dir.write("out", "not a directory")
        let found = failure(try spec(dir, backend: "memory"), .refuse)
        #expect(found?.kind == .io)
        #expect(found?.message.contains("\(dir.path)/out") == true)
    }

    @Test func secondRunOnAHeldStateDirectoryNamesTheHoldersPid() throws {
        let dir = Scratch()
        do {
            let held = try StateDirectoryLock(directory: "\(dir.path)/state")
            let found = failure(try spec(dir), .refuse)
            #expect(found?.kind == .locked)
            #expect(found?.message.contains("in use by streamctl process \(getpid())") == true)
            withExtendedLifetime(held) {}
        }
        // Released with its holder: the next run may take it.
        let next = try? StateDirectoryLock(directory: "\(dir.path)/state")
        #expect(next != nil)
    }

    @Test func rerunAfterARunWithRocksDBStateIsRefusedUntilFresh() throws {
        let dir = Scratch()
        let s = try spec(dir)
        do {
            let lock = try RunPreflight(spec: s, policy: .refuse).prepare(log: { _ in })
            let runner = JobRunner(spec: s, profile: Profile(name: "test"), options: RunOptions(bindArenas: false))
            #expect(try runner.run().summary.status == "ok")
            withExtendedLifetime(lock) {}
        }
        #expect(failure(s, .refuse)?.kind == .leftoverState)
        #expect(failure(s, .fresh) == nil)
    }

    @Test func stopBeforeTheInputEndsMarksThePartFilesPartial() throws {
        let dir = Scratch()
        let s = try spec(dir, backend: "memory", rows: "unbounded, rate: 2000")
        let runner = JobRunner(spec: s, profile: Profile(name: "test"), options: RunOptions(bindArenas: false))
        try runner.start()
        let outcome = runner.wait(shouldStop: { (runner.job?.rowsReadTotal ?? 0) > 0 })
        #expect(outcome.summary.status == "ok")
        #expect(outcome.summary.json.contains("\"partial_output\":true"))
        let names = FileManager.default.enumerator(atPath: "\(dir.path)/out")!.compactMap { $0 as? String }
            .map { ($0 as NSString).lastPathComponent }.filter { !$0.hasPrefix(".") }
        #expect(!names.isEmpty)
        #expect(names.allSatisfy { $0.hasPrefix("_partial-part-") })
    }

    @Test func runThatCountsMostRowsLateEndsLate() throws {
        let dir = Scratch()
        // One split, one worker: which rows are late depends only on the generated order.
        let yaml = """
            name: late
            source:
              generator: { seed: 5, rows: 5000, keys: 5, splits: 1, step: 10ms, disorder: 30s }
              event_time: { field: ts, max_disorder: 0s, max_late_share: 5% }
            operators:
              - key_by: shop
              - window: { tumbling: 1s, aggregate: { orders: count() } }
            sink:
              file: { path: \(dir.path)/out, format: json }
            """
        var profile = Profile(name: "test")
        profile.parallelism = 1
        let runner = JobRunner(
            spec: try PipelineLoader.load(yaml: yaml, file: "late.yaml"), profile: profile,
            options: RunOptions(bindArenas: false))
        let outcome = try runner.run()
        let late = LateShare(spec: runner.spec, snapshot: outcome.summary.snapshot!)
        #expect(late.share > 0.05)
        #expect(outcome.tooLate)
        #expect(outcome.summary.status == "late")

        let off = try PipelineLoader.load(
            yaml: yaml.replacingOccurrences(of: "max_late_share: 5%", with: "max_late_share: off"), file: "late.yaml")
        try? FileManager.default.removeItem(atPath: "\(dir.path)/out")
        let relaxed = try JobRunner(spec: off, profile: profile, options: RunOptions(bindArenas: false)).run()
        #expect(relaxed.summary.status == "ok")
    }
}

@Suite struct DiskSpaceWatchTests {
    @Test func aFilesystemWithLessThanTheReserveFreeIsRefusedWithItsFreeSpaceNamed() throws {
        let watch = DiskSpaceWatch(directory: FileManager.default.temporaryDirectory.path)
        let free = try #require(watch.freeBytes())
        let error = watch.shortage(minimum: free + (1 << 30), starting: true)
        #expect(error?.kind == .state)
        #expect(error?.message.contains("MiB free, less than the") == true)
        #expect(error?.message.contains("cannot start") == true)
        #expect(watch.shortage(minimum: 0, starting: false) == nil)
    }
}
