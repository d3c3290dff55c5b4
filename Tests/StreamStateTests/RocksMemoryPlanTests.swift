import StreamCore
import StreamState
import Testing

@Suite struct RocksMemoryPlanTests {
    @Test func derivedCacheTakesTheWholeBudgetWithMemtablesChargedInside() {
        let plan = RocksMemoryPlan(spec: StateSpec(backend: .rocksdb, memoryBytes: 256 << 20, workerCacheBytes: 0))
        #expect(plan.cacheCapacity == 256 << 20)
        #expect(plan.memtableBytes == 64 << 20)
        #expect(plan.writeBufferSize == 32 << 20)
    }

    @Test func givenCacheLeavesTheRestToMemtables() {
        let spec = StateSpec(backend: .rocksdb, memoryBytes: 256 << 20, blockCacheBytes: 192 << 20, workerCacheBytes: 0)
        let plan = RocksMemoryPlan(spec: spec)
        #expect(plan.memtableBytes == 64 << 20)
        #expect(plan.cacheCapacity == 256 << 20)
    }

    @Test func cacheOffGivesHalfTheBudgetToMemtables() {
        let plan = RocksMemoryPlan(
            spec: StateSpec(backend: .rocksdb, memoryBytes: 256 << 20, blockCacheBytes: 0, workerCacheBytes: 0))
        #expect(plan.cacheCapacity == 0)
        #expect(plan.memtableBytes == 128 << 20)
    }

    @Test func workerCachesAreTakenOutOfTheBudget() {
        let plan = RocksMemoryPlan(spec: StateSpec(backend: .rocksdb, memoryBytes: 256 << 20))
        #expect(plan.cacheCapacity == 240 << 20)
        let explicit = RocksMemoryPlan(
            spec: StateSpec(backend: .rocksdb, memoryBytes: 256 << 20, workerCacheBytes: 64 << 20))
        #expect(explicit.cacheCapacity == 192 << 20)
    }

    @Test func tinyBudgetIsRaisedToTheMinimum() {
        let plan = RocksMemoryPlan(spec: StateSpec(backend: .rocksdb, memoryBytes: 1 << 20))
        #expect(plan.cacheCapacity == RocksMemoryPlan.minimumBudget)
        #expect(plan.writeBufferSize >= 1 << 20)
    }
}
