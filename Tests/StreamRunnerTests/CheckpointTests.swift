import Foundation
import StreamCore
import StreamPipeline
import StreamState
import Testing

@testable import StreamRunner

/// Checkpoints through the runner, on real RocksDB and real files.
@Suite(.serialized) struct CheckpointTests {
    func temp() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func yaml(_ dir: URL, rows: Int = 40_000, backend: String = "rocksdb", checkpoints: String? = nil, interval: String = "100ms")
        -> String
    {
        """
        name: ckpt
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 8, rows: \(rows), keys: 300, skew: 1.1, splits: 4, step: 2s, disorder: 2s, start_time: "2026-11-27T00:00:00Z" }
          event_time: { field: ts, max_disorder: 5s }
        operators:
          - key_by: shop
          - window: { tumbling: 1h, aggregate: { orders: count(), revenue: sum(amount) } }
            id: hourly
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: \(backend), dir: \(dir.path)/state, memory: 64MiB }
        checkpoints: { dir: \(checkpoints ?? dir.path + "/checkpoints"), retain: 3 }
        profiles:
          initial: steady
          overrides:
            steady: { checkpoint: { interval: \(interval), tolerable_failures: 1 } }
        """
    }

    func lines(_ dir: URL) throws -> [String] {
        var out: [String] = []
        for case let f as String in FileManager.default.enumerator(atPath: dir.path) ?? .init() {
            guard (f as NSString).lastPathComponent.hasPrefix("part-") else { continue }
            out += try String(contentsOfFile: dir.appendingPathComponent(f).path, encoding: .utf8)
                .split(separator: "\n").map(String.init)
        }
        return out.sorted()
    }

    func runner(_ yaml: String, parallelism: Int, options: RunOptions = RunOptions(bindArenas: false)) throws -> JobRunner {
        let spec = try PipelineLoader.load(yaml: yaml, file: "ckpt.yaml")
        var profile = try ProfileLoader.resolve(name: "steady", spec: spec, searchDirectories: [])
        profile.parallelism = parallelism
        return JobRunner(spec: spec, profile: profile, options: options)
    }

    @Test(arguments: ["rocksdb", "memory"])
    func aSavepointRestoredAtAnotherParallelismContinuesToTheSameOutput(backend: String) throws {
        let reference = temp()
        let split = temp()
        defer {
            try? FileManager.default.removeItem(at: reference)
            try? FileManager.default.removeItem(at: split)
        }
        let whole = try runner(yaml(reference, backend: backend), parallelism: 2).run()
        #expect(whole.failure == nil)
        let expected = try lines(reference.appendingPathComponent("out"))
        #expect(expected.count > 500)

        let savepoint = split.appendingPathComponent("savepoint").path
        var first = RunOptions(maxRecords: 17_000, bindArenas: false)
        first.savepointOnExit = savepoint
        let a = try runner(yaml(split, backend: backend), parallelism: 1, options: first).run()
        #expect(a.failure == nil, "\(a.failure?.message ?? "")")
        #expect(a.summary.json.contains("\"rows_in\":17000"))
        let partial = try lines(split.appendingPathComponent("out"))
        #expect(partial.count < expected.count)
        // Start over from the savepoint alone, at another parallelism, with the checkpoints gone.
        try FileManager.default.removeItem(atPath: split.appendingPathComponent("checkpoints").path)
        var second = RunOptions(bindArenas: false)
        second.fromSavepoint = savepoint
        let b = try runner(yaml(split, backend: backend), parallelism: 3, options: second).run()
        #expect(b.failure == nil, "\(b.failure?.message ?? "")")
        #expect(b.summary.json.contains("\"rows_in\":23000"))
        #expect(try lines(split.appendingPathComponent("out")) == expected)
    }

    @Test func incrementalCheckpointsCopyOnlyNewStateFilesAndFullOnesCopyAll() throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = try RocksStateBackend(spec: StateSpec(backend: .rocksdb, dir: dir.path + "/db", memoryBytes: 64 << 20))
        let table = try state.table(named: "t")
        let store = CheckpointStore(root: dir.path + "/checkpoints")
        var cache: [String: UInt32] = [:]
        func writeKeys(_ range: Range<Int>) throws {
            var w = StateWriteBatch()
            for i in range { w.put(StateKey.encode(keyGroup: i % 128, key: Array("k\(i)".utf8), namespace: 0), [UInt8](repeating: 7, count: 100)) }
            try table.write(w)
            try state.flush()
        }
        try writeKeys(0..<20_000)
        let first = try state.snapshot(into: store.stagingDirectory + "/1")
        let c1 = try store.copyState(from: store.stagingDirectory + "/1", files: first, id: 1, incremental: true, crcCache: &cache)
        let sst1 = c1.files.filter { $0.name.hasSuffix(".sst") }
        #expect(!sst1.isEmpty)
        try writeKeys(20_000..<40_000)
        let second = try state.snapshot(into: store.stagingDirectory + "/2")
        let c2 = try store.copyState(from: store.stagingDirectory + "/2", files: second, id: 2, incremental: true, crcCache: &cache)
        let sst2 = c2.files.filter { $0.name.hasSuffix(".sst") }
        let reused = sst2.filter { f in sst1.contains { $0.path == f.path } }
        // The SST files of the first checkpoint are shared, not copied again: only the new ones are.
        #expect(!reused.isEmpty)
        let newBytes = sst2.filter { f in !sst1.contains { $0.path == f.path } }.reduce(Int64(0)) { $0 + $1.size }
        let other = c2.files.filter { !$0.name.hasSuffix(".sst") }.reduce(Int64(0)) { $0 + $1.size }
        #expect(c2.bytesCopied == newBytes + other)
        let full = try store.copyState(from: store.stagingDirectory + "/2", files: second, id: 3, incremental: false, crcCache: &cache)
        #expect(full.bytesCopied == c2.files.reduce(Int64(0)) { $0 + $1.size })
        #expect(full.files.allSatisfy { $0.path.hasPrefix("chk-3/state/") })
        try state.close()
    }

    @Test func aCorruptCheckpointIsNamedAndThePreviousOneIsRestored() throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = CheckpointStore(root: dir.path + "/checkpoints")
        // Two runs of the same job leave checkpoints; spoil one state file of the newest.
        _ = try runner(yaml(dir, rows: 8_000), parallelism: 1, options: RunOptions(maxRecords: 4_000, bindArenas: false)).run()
        _ = try runner(yaml(dir, rows: 8_000), parallelism: 1, options: RunOptions(maxRecords: 2_000, bindArenas: false)).run()
        let ids = store.ids()
        #expect(ids.count >= 2)
        let newest = try store.manifest(ids[0])
        let victim = try #require(newest.state.first { !$0.path.hasPrefix("shared/") } ?? newest.state.first)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.root + "/" + victim.path))
        try handle.seek(toOffset: 0)
        handle.write(Data([0xFF, 0xEE, 0xDD]))
        try handle.close()
        var said: [String] = []
        let chosen = store.latestValid(log: { said.append($0) })
        #expect(chosen?.id == ids[1])
        #expect(said.contains { $0.contains(victim.path) && $0.contains("corrupt") })
    }

    @Test func checkpointsThatKeepFailingFailTheJobWithTheCheckpointError() throws {
        let dir = temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The checkpoints directory sits under a regular file: nothing can be written there.
        let blocker = dir.appendingPathComponent("not-a-directory")
        FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        var y = yaml(dir, checkpoints: blocker.path + "/checkpoints", interval: "20ms")
        y = y.replacingOccurrences(of: "rows: 40000,", with: "rows: unbounded, rate: 20000,")
        let outcome = try runner(y, parallelism: 1).run()
        #expect(outcome.failure?.kind == .checkpoint)
        #expect(outcome.failure?.message.contains("more than checkpoint.tolerable_failures (1)") == true)
        #expect(outcome.summary.json.contains("\"checkpoints_completed\":0"))
        #expect(outcome.summary.checkpoints?.failed ?? 0 >= 2)
    }
}
