/// Upper bounds of counts and sizes checked at validation, so `run` never meets a value it cannot hold.
/// Each is far above real use; the messages and docs/configuration.md quote them.
enum Bounds {
    /// Worker threads per operator: the key-group count (128) is the most a keyed stage can use.
    static let parallelism = 128
    /// Distinct generator shops: the generator keeps a table of every key's name (about 24 bytes each).
    static let generatorKeys = 10_000_000
    /// Generator splits, each its own row sequence.
    static let generatorSplits = 4_096
    /// Rows per batch and batches per channel: beyond these a batch or channel no longer fits in memory.
    static let batchSize = 1 << 20
    static let channelCapacity = 1 << 16
    /// Checkpoints kept.
    static let retainedCheckpoints = 1_000
    /// `state.memory`: RocksDB needs a few MiB for memtables alone; more than 16 TiB is a typo.
    static let stateMemoryMin: Int64 = 16 << 20
    static let stateMemoryMax: Int64 = 16 << 40
    /// The latest event time a generator may produce: 9999-12-31T23:59:59.999Z.
    static let latestEventTimeMs: Int64 = 253_402_300_799_999
}
