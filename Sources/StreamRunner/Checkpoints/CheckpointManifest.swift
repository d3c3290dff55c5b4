import StreamCore

/// What one completed checkpoint holds (`chk-<id>/manifest.json`): enough to resume the job exactly where
/// it was at the barrier — source positions, watermarks, the state files with their checksums, and the
/// output staged for it.
public struct CheckpointManifest: Codable, Sendable, Hashable {
    public static let currentVersion = 1

    /// One state file and where it is kept.
    public struct StateFile: Codable, Sendable, Hashable {
        public var name: String
        public var size: Int64
        public var crc32c: UInt32
        /// Path relative to the checkpoints directory (`shared/…` for incremental SST files).
        public var path: String
    }

    public struct Durations: Codable, Sendable, Hashable {
        /// Injection to the last acknowledgement.
        public var alignMs: Int64
        /// Stateful workers held for the state snapshot (stop-the-world).
        public var pauseMs: Int64
        /// Copying state into the checkpoints directory.
        public var copyMs: Int64
        public var totalMs: Int64
    }

    public var version: Int
    public var id: Int64
    public var pipeline: String
    public var profile: String
    public var createdAtMs: Int64
    /// Taken when the input ended of its own: nothing is left to read or fire.
    public var finished: Bool
    public var savepoint: Bool
    public var incremental: Bool
    public var backend: String
    public var progress: RestoredProgress
    public var state: [StateFile]
    public var pending: [PendingOutput]
    public var durations: Durations
    public var bytesCopied: Int64
}
