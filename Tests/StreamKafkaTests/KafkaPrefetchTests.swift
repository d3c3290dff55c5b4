import StreamKafka
import Testing

/// The Kafka prefetch stays inside its share of the memory budget.
@Suite struct KafkaPrefetchTests {
    @Test func consumersShareASixteenthOfTheStateMemory() {
        let budget = KafkaPrefetch.budgetBytes(stateMemoryBytes: 512 << 20)
        #expect(budget == 32 << 20)
        // The backfill profile asks 256 MiB per consumer; two consumers get 16 MiB each.
        #expect(KafkaPrefetch.queuedMaxKBytes(profileKBytes: 262_144, budgetBytes: budget, consumers: 2) == 16_384)
    }

    @Test func aProfileAskingLessKeepsItsBound() {
        let budget = KafkaPrefetch.budgetBytes(stateMemoryBytes: 1 << 30)
        #expect(KafkaPrefetch.queuedMaxKBytes(profileKBytes: 8_192, budgetBytes: budget, consumers: 1) == 8_192)
    }

    @Test func aTinyBudgetStillLeavesOneMiBPerConsumer() {
        let budget = KafkaPrefetch.budgetBytes(stateMemoryBytes: 16 << 20)
        #expect(KafkaPrefetch.queuedMaxKBytes(profileKBytes: 32_768, budgetBytes: budget, consumers: 8) == 1_024)
    }

    @Test func withoutABudgetTheProfileDecides() {
        #expect(KafkaPrefetch.queuedMaxKBytes(profileKBytes: 262_144, budgetBytes: nil, consumers: 4) == 262_144)
    }
}
