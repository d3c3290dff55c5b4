import Synchronization

/// Counters one worker thread updates as it runs; read by metric snapshots from any thread.
public final class WorkerMetrics: Sendable {
    public let stage: String
    public let worker: Int
    let rowsIn = Atomic<Int64>(0)
    let rowsOut = Atomic<Int64>(0)
    let busyNs = Atomic<Int64>(0)
    let idleNs = Atomic<Int64>(0)
    let backPressuredNs = Atomic<Int64>(0)
    let lateRows = Atomic<Int64>(0)
    let watermark = Atomic<Int64>(.min)
    /// This worker's inputs, for their fill at snapshot time; nil for a source.
    let gate: InputGate?
    /// Extra figures the operator or connector reports (`lag`, `open_buckets`, …).
    let extra = Mutex<[String: Int64]>([:])
    /// A source worker's figures per split (Kafka partition, file, shard), for per-partition metrics.
    let splits = Mutex<[SplitFigures]>([])

    init(stage: String, worker: Int, gate: InputGate?) {
        self.stage = stage
        self.worker = worker
        self.gate = gate
    }

    func add(_ counter: borrowing Atomic<Int64>, _ value: Int64) { counter.add(value, ordering: .relaxed) }

    func setExtra(_ values: [String: Int64]) {
        guard !values.isEmpty else { return }
        extra.withLock { $0.merge(values) { $1 } }
    }

    func setSplits(_ figures: [SplitFigures]) { splits.withLock { $0 = figures } }

    func snapshot() -> WorkerSnapshot {
        WorkerSnapshot(
            stage: stage, worker: worker, rowsIn: rowsIn.load(ordering: .relaxed),
            rowsOut: rowsOut.load(ordering: .relaxed), busyNs: busyNs.load(ordering: .relaxed),
            idleNs: idleNs.load(ordering: .relaxed), backPressuredNs: backPressuredNs.load(ordering: .relaxed),
            lateRows: lateRows.load(ordering: .relaxed), watermark: watermark.load(ordering: .relaxed),
            inputFill: gate?.fill ?? 0, inputCapacity: gate.map { $0.capacity * $0.inputs } ?? 0, extra: extra.withLock { $0 },
            splits: splits.withLock { $0 })
    }
}

/// Cumulative figures of one worker at one moment.
public struct WorkerSnapshot: Sendable, Hashable {
    public var stage: String
    public var worker: Int
    public var rowsIn: Int64
    public var rowsOut: Int64
    public var busyNs: Int64
    public var idleNs: Int64
    public var backPressuredNs: Int64
    public var lateRows: Int64
    public var watermark: Int64
    /// Messages waiting in the worker's input queues, and what they may hold (capacity × inputs).
    public var inputFill: Int
    public var inputCapacity: Int
    public var extra: [String: Int64]
    /// Per split this source worker reads, in split order; empty for other workers.
    public var splits: [SplitFigures] = []
}

/// One split of a source (a Kafka partition is split `topicIndex << 20 | partition`) as its worker last saw it.
public struct SplitFigures: Sendable, Hashable {
    public var split: Int
    /// Records behind the end of the split; nil when the reader does not know.
    public var lagRows: Int64?
    /// The newest event time read from the split (epoch ms); nil before the first, or without event time.
    public var newestEventTimeMs: Int64?
    /// The split's watermark: its newest event time minus the allowed disorder.
    public var watermarkMs: Int64?

    public init(split: Int, lagRows: Int64?, newestEventTimeMs: Int64?, watermarkMs: Int64?) {
        self.split = split
        self.lagRows = lagRows
        self.newestEventTimeMs = newestEventTimeMs
        self.watermarkMs = watermarkMs
    }
}

/// Every worker's figures at one moment, plus the state backend's.
public struct JobSnapshot: Sendable {
    public var takenAtNs: UInt64
    public var workers: [WorkerSnapshot]
    public var state: [String: Int64]

    public init(takenAtNs: UInt64, workers: [WorkerSnapshot], state: [String: Int64]) {
        self.takenAtNs = takenAtNs
        self.workers = workers
        self.state = state
    }

    /// Records behind the end of the input, summed over the source workers (what each reader reports as `lag`).
    public var sourceLag: Int64 {
        workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
    }

    /// Per-worker busy / idle / back-pressured milliseconds per second and row rates between `earlier` and self.
    public func rates(since earlier: JobSnapshot) -> [WorkerRates] {
        let seconds = Double(takenAtNs &- earlier.takenAtNs) / 1e9
        guard seconds > 0 else { return [] }
        return workers.map { w in
            let e = earlier.workers.first { $0.stage == w.stage && $0.worker == w.worker }
            func per(_ now: Int64, _ then: Int64?) -> Double { Double(now - (then ?? 0)) / seconds }
            return WorkerRates(
                stage: w.stage, worker: w.worker,
                busyMsPerSecond: per(w.busyNs, e?.busyNs) / 1e6,
                idleMsPerSecond: per(w.idleNs, e?.idleNs) / 1e6,
                backPressuredMsPerSecond: per(w.backPressuredNs, e?.backPressuredNs) / 1e6,
                rowsInPerSecond: per(w.rowsIn, e?.rowsIn), rowsOutPerSecond: per(w.rowsOut, e?.rowsOut),
                inputFill: w.inputFill, inputCapacity: w.inputCapacity)
        }
    }
}

/// Rates of one worker over a snapshot interval.
public struct WorkerRates: Sendable, Hashable {
    public var stage: String
    public var worker: Int
    public var busyMsPerSecond: Double
    public var idleMsPerSecond: Double
    public var backPressuredMsPerSecond: Double
    public var rowsInPerSecond: Double
    public var rowsOutPerSecond: Double
    public var inputFill: Int
    public var inputCapacity: Int
}
