import Synchronization
import Testing

@testable import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// A sink that keeps every row it receives in memory, optionally sleeping per batch (a slow sink).
final class CollectingSink: SinkConnector, Sendable {
    let rows = Mutex<[[Value]]>([])
    let delayMicros: UInt32
    let closedWriters = Atomic<Int>(0)

    init(delayMicros: UInt32 = 0) { self.delayMicros = delayMicros }

    func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter { Writer(sink: self) }

    var all: [[Value]] { rows.withLock { $0 } }

    final class Writer: SinkWriter {
        let sink: CollectingSink
        init(sink: CollectingSink) { self.sink = sink }
        func write(_ batch: Batch) throws(StreamError) {
            if sink.delayMicros > 0 { usleep(sink.delayMicros) }
            let r = batch.rows()
            sink.rows.withLock { $0.append(contentsOf: r) }
        }
        func close() throws(StreamError) { sink.closedWriters.add(1, ordering: .relaxed) }
    }
}

/// A source that replays fixed batches, one split per batch list, for scripted tests.
struct ScriptedSource: SourceConnector {
    let splits: [[Batch]]
    var splitCount: Int { splits.count }
    func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        Reader(
            splits: Array(stride(from: context.worker, to: splits.count, by: context.workers)).map { ($0, splits[$0]) },
            timeField: context.spec.eventTime?.field)
    }
    final class Reader: SourceReader {
        var queue: [(split: Int, batches: [Batch])]
        let timeField: String?
        init(splits: [(Int, [Batch])], timeField: String?) {
            queue = splits.map { (split: $0.0, batches: $0.1) }
            self.timeField = timeField
        }
        func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
            var progress: [SplitProgress] = []
            for i in queue.indices where !queue[i].batches.isEmpty {
                let b = queue[i].batches.removeFirst()
                batch.append(contentsOf: b)
                let ts = timeField.flatMap { b.column($0)?.int64s.max() }
                progress.append(
                    SplitProgress(
                        split: queue[i].split, maxEventTime: ts, atEnd: queue[i].batches.isEmpty,
                        finished: queue[i].batches.isEmpty))
                break
            }
            let finished = queue.allSatisfy { $0.batches.isEmpty }
            return SourcePoll(splits: progress, finished: finished)
        }
    }
}

let ordersSchema = Schema(GeneratorSource.fields)

func generatorSpec(rows: Int, keys: Int = 20, disorderMs: Int64 = 2_000, splits: Int = 4, seed: UInt64 = 7)
    -> GeneratorSpec
{
    GeneratorSpec(seed: seed, rows: rows, keys: keys, skew: 0.8, disorderMs: disorderMs, stepMs: 37, splits: splits)
}

/// Runs a pipeline spec to completion with the in-memory backend and a collecting sink.
func runToCompletion(
    _ spec: PipelineSpec, parallelism: Int, sink: CollectingSink = CollectingSink(),
    source: (any SourceConnector)? = nil, batchSize: Int = 512, channelCapacity: Int = 4
) throws -> (rows: [[Value]], job: Job) {
    let profile = Profile(
        name: "test", parallelism: parallelism, batchSize: batchSize, channelCapacity: channelCapacity)
    let src: any SourceConnector
    if let source {
        src = source
    } else if case .generator(let g) = spec.source.kind {
        src = GeneratorSource(spec: g)
    } else {
        throw StreamError(.config, "a test pipeline needs a generator source or an explicit one")
    }
    let plan = try JobPlanner.plan(
        spec, profile: profile, parts: .init(source: src, sink: sink, state: MemoryStateBackend()))
    let job = Job(plan: plan, badRecords: try BadRecordHandler(policy: .fail))
    try job.start()
    try job.wait()
    return (sink.all, job)
}

/// Canonical text of rows for order-independent comparison.
func canonical(_ rows: [[Value]]) -> [String] {
    rows.map { $0.map(\.description).joined(separator: "|") }.sorted()
}

/// A source whose batches come out only as the test releases them: `release(n)` lets n more batches out,
/// across all readers. Each split replays its batches in order and reports its event time.
final class GatedSource: SourceConnector, Sendable {
    let splits: [[Batch]]
    private let budget = Mutex<Int>(0)
    let emitted = Atomic<Int>(0)
    var splitCount: Int { splits.count }
    var total: Int { splits.reduce(0) { $0 + $1.count } }

    init(splits: [[Batch]]) { self.splits = splits }

    func release(_ n: Int) { budget.withLock { $0 += n } }
    func releaseAll() { release(total) }

    fileprivate func take() -> Bool {
        budget.withLock { b in
            guard b > 0 else { return false }
            b -= 1
            return true
        }
    }

    /// Waits until `n` batches in all have been read (an event, not a duration: a long limit only
    /// catches a hang).
    func waitUntilEmitted(_ n: Int) throws {
        for _ in 0..<30_000 {
            if emitted.load(ordering: .acquiring) >= n { return }
            usleep(1_000)
        }
        throw StreamError(.internal, "source stuck")
    }

    func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        Reader(
            source: self,
            splits: Array(stride(from: context.worker, to: splits.count, by: context.workers)).map { ($0, splits[$0]) },
            timeField: context.spec.eventTime?.field)
    }

    final class Reader: SourceReader {
        let source: GatedSource
        var queue: [(split: Int, batches: [Batch])]
        var turn = 0
        let timeField: String?
        init(source: GatedSource, splits: [(Int, [Batch])], timeField: String?) {
            self.source = source
            queue = splits.map { (split: $0.0, batches: $0.1) }
            self.timeField = timeField
        }
        func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
            if queue.allSatisfy({ $0.batches.isEmpty }) { return SourcePoll(finished: true) }
            guard source.take() else {
                usleep(UInt32(min(timeoutMs, 2)) * 1000)
                return SourcePoll(splits: queue.map { SplitProgress(split: $0.split, finished: $0.batches.isEmpty) })
            }
            while queue[turn % queue.count].batches.isEmpty { turn += 1 }
            let i = turn % queue.count
            turn += 1
            let b = queue[i].batches.removeFirst()
            batch.append(contentsOf: b)
            source.emitted.add(1, ordering: .releasing)
            let ts = timeField.flatMap { b.column($0)?.int64s.max() }
            let progress = SplitProgress(split: queue[i].split, maxEventTime: ts, finished: queue[i].batches.isEmpty)
            return SourcePoll(splits: [progress], finished: queue.allSatisfy { $0.batches.isEmpty })
        }
    }
}

/// Generated orders cut into batches of `batchRows`, dealt round-robin into `splits` splits (in event-time
/// order within each split when the generator has no disorder).
func generatedSplits(_ gen: GeneratorSpec, batchRows: Int, splits: Int) throws -> [[Batch]] {
    let source = GeneratorSource(spec: gen)
    let reader = try source.openReader(
        SourceContext(
            worker: 0, workers: 1, schema: ordersSchema, spec: SourceSpec(kind: .generator(gen)),
            profile: Profile(name: "t"), badRecords: BadRecordHandler(policy: .fail)))
    var out = [[Batch]](repeating: [], count: splits)
    var k = 0
    while true {
        var b = Batch(schema: ordersSchema, capacity: batchRows)
        let poll = try reader.poll(into: &b, maxRows: batchRows, timeoutMs: 0)
        if !b.isEmpty {
            out[k % splits].append(b)
            k += 1
        }
        if poll.finished { break }
    }
    return out
}

/// A sink whose writers log what they receive: rows (by order id) and flushes (aligned barriers); a
/// writer can be held inside `write` until the test lets it go.
final class RecordingSink: SinkConnector, Sendable {
    enum Entry: Sendable, Equatable {
        case rows([Int64])
        case flush
    }
    let logs = Mutex<[Int: [Entry]]>([:])
    let held = Atomic<Bool>(false)
    let writesStarted = Atomic<Int>(0)

    func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter {
        Writer(sink: self, worker: context.worker)
    }

    func log(_ worker: Int) -> [Entry] { logs.withLock { $0[worker] ?? [] } }

    var allRows: [Int64] {
        logs.withLock { l in l.values.flatMap { $0 }.flatMap { e -> [Int64] in if case .rows(let r) = e { r } else { [] } } }
    }

    final class Writer: SinkWriter {
        let sink: RecordingSink
        let worker: Int
        init(sink: RecordingSink, worker: Int) {
            self.sink = sink
            self.worker = worker
        }
        func write(_ batch: Batch) throws(StreamError) {
            sink.writesStarted.add(1, ordering: .releasing)
            while sink.held.load(ordering: .acquiring) { usleep(500) }
            let ids = batch.columns[0].int64s
            sink.logs.withLock { $0[worker, default: []].append(.rows(ids)) }
        }
        func flush() throws(StreamError) { sink.logs.withLock { $0[worker, default: []].append(.flush) } }
        func close() throws(StreamError) {}
    }
}

/// Waits for `condition` (an event; the long limit only catches a hang).
func eventually(_ what: String, _ condition: () -> Bool) throws {
    for _ in 0..<30_000 {
        if condition() { return }
        usleep(1_000)
    }
    throw StreamError(.internal, "never happened: \(what)")
}
