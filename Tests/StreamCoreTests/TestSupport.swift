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
