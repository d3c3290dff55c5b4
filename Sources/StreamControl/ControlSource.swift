import StreamCore

/// What the control endpoint asks of the running job. The runner implements it; only `controlSnapshot()` is
/// required, so a test or a later feature can serve a job with nothing else.
public protocol ControlSource: Sendable {
    /// The job's figures now: cumulative counters of every worker, state and memory figures, the profile.
    func controlSnapshot() -> ControlSnapshot

    /// Writes a heap profile now and returns its path (`POST /heap-profile`).
    func dumpHeapProfile() throws(ControlError) -> String
}

extension ControlSource {
    public func dumpHeapProfile() throws(ControlError) -> String {
        throw ControlError(status: 501, message: "heap profiles are not available in this process")
    }
}

/// A request the endpoint could not serve: the HTTP status and a one-line reason for the caller.
public struct ControlError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

/// One look at the job, as the control endpoint serves it.
public struct ControlSnapshot: Sendable {
    public var pipeline: String
    public var profile: String
    public var pid: Int32
    /// Wall-clock start of the run, milliseconds since the epoch.
    public var startedAtMs: Int64
    /// False once every worker has exited.
    public var running: Bool
    public var job: JobSnapshot
    /// Parallelism per stage id, in graph order (source first, sink last).
    public var stages: [(id: String, parallelism: Int)]
    public var memory: MemoryFigures
    /// How many times the profile was switched since start.
    public var profileSwitches: Int
    /// The last switch, nil before the first.
    public var lastSwitch: SwitchFigures?
    /// The source's splits as partitions of named topics, from the source workers' split figures.
    public var partitions: [PartitionFigures] = []
    /// Checkpoint counts and the last one's figures; nil when the pipeline has no checkpoints.
    public var checkpoints: CheckpointFigures?
    /// Bad records by reason and what the pipeline's `on_bad_record` did with them; nil under `fail`.
    public var badRecords: BadRecordFigures?

    public init(
        pipeline: String, profile: String, pid: Int32, startedAtMs: Int64, running: Bool, job: JobSnapshot,
        stages: [(id: String, parallelism: Int)], memory: MemoryFigures, profileSwitches: Int = 0
    ) {
        self.pipeline = pipeline
        self.profile = profile
        self.pid = pid
        self.startedAtMs = startedAtMs
        self.running = running
        self.job = job
        self.stages = stages
        self.memory = memory
        self.profileSwitches = profileSwitches
    }
}

/// The process's memory: jemalloc's statistics (nil where jemalloc is not the allocator), RSS and the budget.
public struct MemoryFigures: Sendable, Codable, Hashable {
    public var allocatedBytes: Int?
    public var activeBytes: Int?
    public var residentBytes: Int?
    public var mappedBytes: Int?
    public var processResidentBytes: Int
    /// `state.memory`, the budget the process's memory is held against; nil without one.
    public var budgetBytes: Int?
    /// RSS over the budget (1 is at the budget); nil without one.
    public var budgetUsedRatio: Double?

    public init(
        allocatedBytes: Int? = nil, activeBytes: Int? = nil, residentBytes: Int? = nil, mappedBytes: Int? = nil,
        processResidentBytes: Int, budgetBytes: Int?
    ) {
        self.allocatedBytes = allocatedBytes
        self.activeBytes = activeBytes
        self.residentBytes = residentBytes
        self.mappedBytes = mappedBytes
        self.processResidentBytes = processResidentBytes
        self.budgetBytes = budgetBytes
        budgetUsedRatio = budgetBytes.flatMap { $0 > 0 ? Double(processResidentBytes) / Double($0) : nil }
    }

    enum CodingKeys: String, CodingKey {
        case allocatedBytes = "jemalloc_allocated_bytes"
        case activeBytes = "jemalloc_active_bytes"
        case residentBytes = "jemalloc_resident_bytes"
        case mappedBytes = "jemalloc_mapped_bytes"
        case processResidentBytes = "process_resident_bytes"
        case budgetBytes = "budget_bytes"
        case budgetUsedRatio = "budget_used_ratio"
    }
}
