import CJemalloc
import Foundation
import StreamCore
import StreamOps
import StreamState
import Synchronization
import Testing

/// jemalloc answers mallctl in this process, and allocations made through it show in its statistics.
@Suite struct JemallocTests {
    static func read(_ name: String) -> UInt64? {
        var value: UInt64 = 0
        var size = MemoryLayout<UInt64>.size
        return mallctl(name, &value, &size, nil, 0) == 0 ? value : nil
    }

    static func refresh() -> Bool {
        var epoch: UInt64 = 1
        return mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size) == 0
    }

    @Test func mallctlAnswersAndThreadCounterGrowsByAnAllocation() throws {
        #expect(Self.refresh())
        #expect(try #require(Self.read("stats.allocated")) > 0)
        let before = try #require(Self.read("thread.allocated"))
        let size = 4 << 20
        let block = try #require(mallocx(size, 0))
        let after = try #require(Self.read("thread.allocated"))
        dallocx(block, 0)
        #expect(after - before >= UInt64(size))
    }

    @Test func processWideAllocatedGrowsWhileALargeBlockIsHeld() throws {
        // Large enough that other tests' allocations and frees in between cannot hide it; only
        // reserved address space, never touched.
        let size = 1 << 30
        #expect(Self.refresh())
        let before = try #require(Self.read("stats.allocated"))
        let block = try #require(mallocx(size, 0))
        #expect(Self.refresh())
        let during = try #require(Self.read("stats.allocated"))
        dallocx(block, 0)
        #expect(during > before + UInt64(size / 2))
    }

    @Test func stateMetricsCarryJemallocFigures() throws {
        let dir = TempDirectory()
        let backend = try RocksStateBackend(
            spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 32 << 20))
        let metrics = backend.metrics()
        #expect(try #require(metrics["jemalloc-allocated"]) > 0)
        #expect(try #require(metrics["jemalloc-resident"]) > 0)
        try backend.close()
    }
}

@Suite struct JemallocArenaTests {
    @Test func workerThreadsBindToTheArenasCreatedForTheCPUQuota() throws {
        let arenas = JemallocArenas(count: 2)
        #expect(arenas.indexes.count == 2)
        let results = Mutex<[UInt32]>([])
        let threads = (0..<4).map { n in
            Thread {
                arenas.bindCurrentThread(n)
                if let a = JemallocArenas.currentThreadArena { results.withLock { $0.append(a) } }
            }
        }
        for t in threads { t.start() }
        while results.withLock({ $0.count }) < 4 { usleep(1_000) }
        // Four threads share the two arenas: each arena serves two of them.
        let counts = Dictionary(grouping: results.withLock { $0 }, by: { $0 }).mapValues(\.count)
        #expect(Set(counts.keys) == Set(arenas.indexes))
        #expect(counts.values.allSatisfy { $0 == 2 })
    }
}
