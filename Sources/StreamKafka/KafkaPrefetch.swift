/// How much the Kafka source may prefetch, inside the process's memory budget. librdkafka buffers
/// fetched messages per consumer up to `queued.max.messages.kbytes` (the profile's `queued_max_kbytes`),
/// outside RocksDB's accounting: a backfill profile's 256 MiB per consumer took RSS far past
/// `state.memory`. All the source's consumers together get a sixteenth of `state.memory` (32 MiB of the
/// default 512 MiB), each at most what its profile asks and at least 1 MiB.
public enum KafkaPrefetch {
    /// Prefetch of all the source's consumers together.
    public static func budgetBytes(stateMemoryBytes: Int64) -> Int64 { max(stateMemoryBytes, 0) / 16 }

    /// One consumer's `queued.max.messages.kbytes`: the profile's, capped by its share of `budgetBytes`
    /// (no cap when nil).
    public static func queuedMaxKBytes(profileKBytes: Int, budgetBytes: Int64?, consumers: Int) -> Int {
        guard let budgetBytes else { return profileKBytes }
        let share = Int(budgetBytes / 1024) / max(1, consumers)
        return max(1024, min(profileKBytes, share))
    }
}
