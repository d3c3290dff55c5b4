/// How rows travel from one stage's workers to the next stage's.
public enum Partitioning: Sendable {
    /// Worker i → worker i when parallelism matches, round-robin otherwise.
    case forward
    /// By key group of these columns: each row reaches the worker owning its key group.
    case keyed(KeyColumns)
    /// By a hash the function computes per row (e.g. the file sink's bucket).
    case hashed(@Sendable (Batch) -> [UInt64])
}

/// What a stage's workers run.
public enum StageKind: Sendable {
    case source(any SourceConnector)
    /// Creates the operator instance of worker `worker` of `parallelism` (owning that worker's key groups).
    case transform(@Sendable (_ worker: Int, _ parallelism: Int) throws(StreamError) -> any StreamOperator)
    case sink(any SinkConnector)
}

/// One stage of the job graph: an operator with its parallelism and how its input is partitioned.
public struct StagePlan: Sendable {
    public var id: String
    public var kind: StageKind
    public var parallelism: Int
    public var input: Partitioning
    /// The schema of rows this stage emits (for a sink: the schema it receives).
    public var outputSchema: Schema
    /// The stage keeps keyed state: its workers take part in state snapshots.
    public var stateful: Bool

    public init(
        id: String, kind: StageKind, parallelism: Int, input: Partitioning, outputSchema: Schema, stateful: Bool = false
    ) {
        self.id = id
        self.kind = kind
        self.parallelism = max(1, parallelism)
        self.input = input
        self.outputSchema = outputSchema
        self.stateful = stateful
    }
}

/// A linear job graph, source first and sink last, with the settings it runs under.
public struct JobPlan: Sendable {
    public var name: String
    public var stages: [StagePlan]
    public var profile: Profile
    public var source: SourceSpec
    public var keyGroups: KeyGroups

    public init(
        name: String, stages: [StagePlan], profile: Profile, source: SourceSpec,
        keyGroups: KeyGroups = KeyGroups()
    ) {
        self.name = name
        self.stages = stages
        self.profile = profile
        self.source = source
        self.keyGroups = keyGroups
    }
}

/// Limits of one run.
public struct RunLimits: Sendable {
    /// Stop the sources after this many rows in total.
    public var maxRecords: Int?
    /// Read until the end offsets sampled at start, then stop.
    public var bound: SourceBound
    public init(maxRecords: Int? = nil, bound: SourceBound = .unbounded) {
        self.maxRecords = maxRecords
        self.bound = bound
    }
}
