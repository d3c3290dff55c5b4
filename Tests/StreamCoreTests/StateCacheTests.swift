import Testing

@testable import StreamCore

@Suite struct StateCacheTests {
    @Test func aHitAfterAPutAndAMissAfterARemove() {
        var cache = StateCache(capacityBytes: 10_000)
        cache.put([1, 2], [9])
        #expect(cache.get([1, 2]) == [9])
        cache.remove([1, 2])
        #expect(cache.get([1, 2]) == nil)
        #expect(cache.hits == 1)
        #expect(cache.misses == 1)
    }

    @Test func memoryStaysWithinCapacityWhateverIsPut() {
        let capacity = 20_000
        var cache = StateCache(capacityBytes: capacity)
        for i in 0..<10_000 {
            cache.put([UInt8(i & 255), UInt8(i >> 8), 0, 0], [UInt8](repeating: 7, count: 32))
        }
        let perEntry = 4 + 32 + StateCache.entryOverhead
        #expect(cache.count * perEntry <= capacity)
        #expect(cache.count > 0)
    }

    @Test func aReReadEntrySurvivesTheTurnoverThatDropsAnUnreadOne() {
        // Each entry costs 99 bytes: the current generation turns over at its eleventh entry.
        var cache = StateCache(capacityBytes: 2 * 10 * (2 + 1 + StateCache.entryOverhead))
        for i in 0..<11 { cache.put([0, UInt8(i)], [1]) }
        #expect(cache.get([0, 0]) == [1])  // promoted into the new generation
        for i in 0..<10 { cache.put([1, UInt8(i)], [1]) }  // second turnover drops the first generation
        #expect(cache.get([0, 0]) == [1])
        #expect(cache.get([0, 1]) == nil)
    }

    @Test func aZeroCapacityCacheHoldsNothing() {
        var cache = StateCache(capacityBytes: 0)
        cache.put([1], [1])
        #expect(cache.get([1]) == nil)
        #expect(cache.count == 0)
    }
}
