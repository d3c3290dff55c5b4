import Foundation
import StreamCore
import StreamState
import Testing

@Suite struct RocksStateBackendTests {
    static func key(_ group: Int, _ id: Int) -> [UInt8] {
        StateKey.encode(keyGroup: group, key: Array("k\(id)".utf8), namespace: 0)
    }

    static func spec(_ dir: String, memory: Int64 = 32 << 20, blockCache: Int64? = nil) -> StateSpec {
        StateSpec(backend: .rocksdb, dir: dir, memoryBytes: memory, blockCacheBytes: blockCache)
    }

    @Test func writtenValuesComeBackFromMultiGetInOrderWithNilForMissing() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        let table = try backend.table(named: "window")
        var batch = StateWriteBatch()
        batch.put(Self.key(1, 1), [1, 2, 3])
        batch.put(Self.key(2, 2), [])
        batch.put(Self.key(3, 3), [9])
        try table.write(batch)

        let values = try table.multiGet([Self.key(3, 3), Self.key(9, 9), Self.key(1, 1), Self.key(2, 2)])
        #expect(values == [[9], nil, [1, 2, 3], []])
        #expect(try table.multiGet([]) == [])
        try backend.close()
    }

    @Test func deleteRemovesOnlyTheDeletedKey() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        let table = try backend.table(named: "agg")
        var puts = StateWriteBatch()
        puts.put(Self.key(5, 1), [1])
        puts.put(Self.key(5, 2), [2])
        try table.write(puts)
        var deletes = StateWriteBatch()
        deletes.delete(Self.key(5, 1))
        try table.write(deletes)
        #expect(try table.multiGet([Self.key(5, 1), Self.key(5, 2)]) == [nil, [2]])
        try backend.close()
    }

    @Test func scanVisitsOnlyTheAskedKeyGroupsInKeyOrder() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        let table = try backend.table(named: "window")
        var batch = StateWriteBatch()
        for group in [0, 1, 2, 3, 255, 256, 300] {
            for id in [3, 1, 2] { batch.put(Self.key(group, id), [UInt8(group & 0xFF), UInt8(id)]) }
        }
        try table.write(batch)

        var seen: [[UInt8]] = []
        try table.scan(keyGroups: 2..<256) { key, value in
            seen.append(key)
            #expect(value == [UInt8(StateKey.keyGroup(of: key) & 0xFF), key[StateKey.prefixCount + 1] - 0x30])
            return true
        }
        let expected = [2, 3, 255].flatMap { g in [1, 2, 3].map { Self.key(g, $0) } }
        #expect(seen == expected)

        var stoppedAfter = 0
        try table.scan(keyGroups: 0..<1000) { _, _ in
            stoppedAfter += 1
            return stoppedAfter < 4
        }
        #expect(stoppedAfter == 4)

        var none = 0
        try table.scan(keyGroups: 4..<255) { _, _ in
            none += 1; return true
        }
        #expect(none == 0)
        try backend.close()
    }

    @Test func stateAndColumnFamiliesSurviveCloseAndReopen() throws {
        let dir = TempDirectory()
        let path = dir.sub("db")
        do {
            let backend = try RocksStateBackend(spec: Self.spec(path))
            var batch = StateWriteBatch()
            batch.put(Self.key(7, 1), Array("kept".utf8))
            try backend.table(named: "window-1").write(batch)
            var other = StateWriteBatch()
            other.put(Self.key(8, 2), [42])
            try backend.table(named: "dedup").write(other)
            try backend.close()
        }
        let reopened = try RocksStateBackend(spec: Self.spec(path))
        #expect(reopened.tableNames == ["dedup", "default", "window-1"])
        #expect(try reopened.table(named: "window-1").multiGet([Self.key(7, 1)]) == [Array("kept".utf8)])
        #expect(try reopened.table(named: "dedup").multiGet([Self.key(8, 2)]) == [[42]])
        #expect(try reopened.table(named: "dedup").approximateCount() == 1)
        try reopened.close()
    }

    @Test func tablesThrowAfterClose() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        let table = try backend.table(named: "t")
        try backend.close()
        #expect(throws: StreamError.self) { try table.multiGet([Self.key(0, 0)]) }
    }

    @Test func blockCacheOffWorksAndReportsZeroCacheUsage() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db"), blockCache: 0))
        #expect(backend.memoryPlan.cacheCapacity == 0)
        let table = try backend.table(named: "window")
        var batch = StateWriteBatch()
        for id in 0..<1000 { batch.put(Self.key(id % 128, id), [UInt8(id & 0xFF)]) }
        try table.write(batch)
        try backend.flush()
        let values = try table.multiGet((0..<1000).map { Self.key($0 % 128, $0) })
        #expect(values.compactMap { $0 }.count == 1000)
        let metrics = backend.metrics()
        #expect(metrics["block-cache-usage"] == 0)
        #expect(metrics["block-cache-pinned-usage"] == 0)
        #expect(metrics["estimate-num-keys"] == 1000)
        try backend.close()
    }

    @Test func blockCacheUsageStaysWithinItsCapacityAfter200kKeys() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db"), memory: 64 << 20))
        let table = try backend.table(named: "window")
        let total = 200_000
        let value = [UInt8](repeating: 7, count: 32)
        for start in stride(from: 0, to: total, by: 4096) {
            var batch = StateWriteBatch()
            for id in start..<min(start + 4096, total) { batch.put(Self.key(id % 128, id), value) }
            try table.write(batch)
        }
        try backend.flush()
        var found = 0
        for start in stride(from: 0, to: total, by: 4096) {
            let keys = (start..<min(start + 4096, total)).map { Self.key($0 % 128, $0) }
            found += try table.multiGet(keys).filter { $0 == value }.count
        }
        #expect(found == total)
        let metrics = backend.metrics()
        let capacity = try #require(metrics["block-cache-capacity"])
        // The workers' read caches take their sixteenth of the budget; the block cache gets the rest.
        #expect(capacity == (64 << 20) - (64 << 20) / 16)
        #expect(try #require(metrics["block-cache-usage"]) > 0)
        #expect(try #require(metrics["block-cache-usage"]) <= capacity)
        for name in ["cur-size-all-mem-tables", "estimate-table-readers-mem", "estimate-pending-compaction-bytes"] {
            #expect(metrics[name] != nil, "missing \(name)")
        }
        #expect(try #require(metrics["estimate-num-keys"]) > 100_000)
        try backend.close()
    }

    @Test func openingARegularFileFailsWithRocksDBsMessage() throws {
        let dir = TempDirectory()
        let file = dir.sub("not-a-dir")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        do {
            _ = try RocksStateBackend(spec: Self.spec(file))
            Issue.record("opening a regular file succeeded")
        } catch {
            #expect(error.kind == .state)
            #expect(error.message.contains(file))
            // RocksDB's status text, e.g. "IO error: While mkdir if missing: ...: File exists".
            #expect(error.message.contains("IO error"), "\(error.message)")
        }
    }

    @Test func filesystemOfTheStateDirectoryHasAName() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        #expect(!backend.filesystem.isEmpty)
        #expect(!backend.filesystem.hasPrefix("unknown"), "\(backend.filesystem)")
        #expect(FilesystemInfo.of(path: "/proc")?.name == "unknown(0x9fa0)")
        #expect(FilesystemInfo.of(path: dir.path + "/missing") == nil)
        try backend.close()
    }

    @Test func tablesAreCreatedOnceFromManyThreads() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(spec: Self.spec(dir.sub("db")))
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            var batch = StateWriteBatch()
            batch.put(Self.key(i, i), [UInt8(i)])
            try? backend.table(named: "shared").write(batch)
        }
        let values = try backend.table(named: "shared").multiGet((0..<8).map { Self.key($0, $0) })
        #expect(values == (0..<8).map { [UInt8($0)] })
        #expect(backend.tableNames == ["default", "shared"])
        try backend.close()
    }
}

@Suite struct StateBenchmarkTests {
    @Test func benchmarkUpdatesEveryKeyItTouchesAndReportsMetrics() throws {
        let dir = TempDirectory()
        let spec = StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 32 << 20)
        let result = try StateBenchmark.run(keys: 1000, updates: 10_000, spec: spec)
        #expect(result.updates == 10_000)
        #expect(result.rowsWritten <= 10_000 && result.rowsWritten >= 1000)
        #expect(result.peakResidentBytes > 0)
        #expect(result.description.contains("updates_per_s="))

        // Every update landed: the counts stored over all keys add up to the updates made.
        let backend = try RocksStateBackend(spec: spec)
        var total: Int64 = 0
        var keys = 0
        try backend.table(named: "bench").scan(keyGroups: 0..<128) { _, value in
            total += value.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            keys += 1
            return true
        }
        #expect(total == 10_000)
        #expect(keys == 1000)
        try backend.close()
    }
}
