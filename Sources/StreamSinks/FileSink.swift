import StreamCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Knobs of the file sink's rolling and buffering that the pipeline file does not set.
public struct FileSinkOptions: Sendable, Hashable {
    /// A part file open this long is rolled.
    public var rolloverMs: Int64
    /// A part file not written for this long is rolled.
    public var inactivityMs: Int64
    /// Bytes buffered per open part file before they are written.
    public var bufferBytes: Int
    /// fsync each part file before it is renamed to its final name.
    public var syncOnCommit: Bool

    public init(
        rolloverMs: Int64 = 15 * 60_000, inactivityMs: Int64 = 60_000, bufferBytes: Int = 64 << 10,
        syncOnCommit: Bool = false
    ) {
        self.rolloverMs = rolloverMs
        self.inactivityMs = inactivityMs
        self.bufferBytes = bufferBytes
        self.syncOnCommit = syncOnCommit
    }
}

/// Writes rows as JSON lines or CSV into part files under `<path>/<bucket>/`, rolling them by size,
/// age and inactivity. Each worker writes its own parts (`part-<worker>-<seq>.<ext>`), keeps at most the
/// profile's `sinkMaxOpen` of them open (closing the least recently used bucket's part beyond that),
/// and commits every open part on `close`.
///
/// Once `earlyStop` is raised (the run is being stopped before its input ended), every part committed
/// from then on is named `_partial-part-…`: windows fired while draining may be incomplete.
public struct FileSinkConnector: SinkConnector {
    public let spec: FileSinkSpec
    public let options: FileSinkOptions
    public let earlyStop: EarlyStopFlag

    public init(spec: FileSinkSpec, options: FileSinkOptions = FileSinkOptions(), earlyStop: EarlyStopFlag = .init()) {
        self.spec = spec
        self.options = options
        self.earlyStop = earlyStop
    }

    public func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter {
        var template: BucketTemplate? = nil
        if let text = spec.bucket, !text.isEmpty {
            do {
                template = try BucketTemplate(text, schema: context.schema)
            } catch {
                let help = error.help.map { " (\($0))" } ?? ""
                throw StreamError(.config, "sink bucket `\(text)` at offset \(error.offset): \(error.message)\(help)")
            }
        }
        do {
            try POSIX.makeDirectories(spec.path)
        } catch {
            throw StreamError(.sink, error.message)
        }
        return FileSinkWriter(
            spec: spec, options: options, context: context, template: template, earlyStop: earlyStop)
    }

    /// Part files stay hidden until the checkpoint they belong to completes.
    public var isTransactional: Bool { true }

    /// Publishes staged parts: renames each to its final name (already there: a repeat after a restore).
    public func commit(_ pending: [PendingOutput]) throws(StreamError) {
        var directories: Set<String> = []
        for p in pending {
            if POSIX.exists(p.staged) {
                if rename(p.staged, p.final) != 0 {
                    throw StreamError(
                        .sink, "cannot publish \(p.staged) as \(p.final): \(POSIX.errorText(errno))")
                }
            } else if !POSIX.exists(p.final) {
                throw StreamError(
                    .sink, "part \(p.final) of a completed checkpoint is missing (neither it nor \(p.staged) exists)")
            }
            directories.insert(String(p.final[..<(p.final.lastIndex(of: "/") ?? p.final.endIndex)]))
        }
        for d in directories { POSIX.syncDirectory(d) }
    }

    /// Restoring a checkpoint: publishes its staged parts, then removes every other staged or half-written
    /// part under the sink's path (written after that checkpoint, or by a run that died).
    public func recover(committing pending: [PendingOutput]) throws(StreamError) {
        try commit(pending)
        _ = try OutputDirectory.removeStaleInProgress(under: spec.path)
    }
}

final class FileSinkWriter: SinkWriter {
    private let root: String
    private let rollSizeBytes: Int64
    private let options: FileSinkOptions
    private let worker: Int
    private let workers: Int
    /// Checkpoints are on: closed parts wait, staged, for their checkpoint instead of being published.
    private let transactional: Bool
    private var staged: [PendingOutput] = []
    private var maxOpen: Int
    private let clock: any StreamClock
    private let encoder: RowEncoder
    private var template: BucketTemplate?
    private var throttle: TokenBucket
    private let counters = WriterCounters()

    private var open: [String: PartFile] = [:]
    /// The part of the previous row: consecutive rows of one bucket skip the dictionary.
    private var current: PartFile?
    private var nextSeq = 0
    private var useTick: UInt64 = 0
    private var madeDirectories: Set<String> = []
    private var closed = false
    private let earlyStop: EarlyStopFlag

    init(
        spec: FileSinkSpec, options: FileSinkOptions, context: SinkContext, template: BucketTemplate?,
        earlyStop: EarlyStopFlag
    ) {
        self.earlyStop = earlyStop
        root = spec.path.hasSuffix("/") && spec.path.count > 1 ? String(spec.path.dropLast()) : spec.path
        rollSizeBytes = max(1, spec.rollSizeBytes)
        self.options = options
        worker = context.worker
        workers = context.workers
        transactional = context.transactional
        maxOpen = max(1, context.profile.sinkMaxOpen)
        clock = context.clock
        encoder = RowEncoder(format: spec.format, schema: context.schema)
        self.template = template
        throttle = TokenBucket(profile: context.profile, workers: context.workers, clock: context.clock)
        madeDirectories.insert(root)
    }

    /// A live profile change: the throttle and the cap on open files apply from the next write.
    func apply(_ profile: Profile) {
        throttle.retune(profile: profile, workers: workers)
        maxOpen = max(1, profile.sinkMaxOpen)
    }

    func write(_ batch: Batch) throws(StreamError) {
        precondition(!closed, "write after close")
        guard !batch.isEmpty else { return }
        let now = clock.nowMs()
        try rollExpired(now: now)
        var encodedBytes = 0
        for row in 0..<batch.count {
            let part = try part(for: batch, row: row, now: now)
            let before = part.buffer.count
            encoder.encode(batch, row: row, into: &part.buffer)
            part.buffer.append(0x0A)
            encodedBytes += part.buffer.count - before
            part.rows += 1
            part.lastWriteMs = now
            if part.buffer.count >= options.bufferBytes { try flushBuffer(part) }
            if part.size >= rollSizeBytes { try commit(part) }
        }
        counters.rows.add(Int64(batch.count), ordering: .relaxed)
        throttle.acquire(records: batch.count, bytes: encodedBytes)
        counters.throttledMs.store(throttle.throttledMs, ordering: .relaxed)
    }

    /// Writes every buffer to its file and rolls parts that are too old or idle.
    func flush() throws(StreamError) {
        for part in open.values { try flushBuffer(part) }
        try rollExpired(now: clock.nowMs())
    }

    /// Checkpoint barrier: closes (fsyncs) every open part and hands over every part staged since the last
    /// barrier, to be published when the checkpoint completes.
    func prepare(checkpoint: Int64) throws(StreamError) -> [PendingOutput] {
        guard transactional else {
            try flush()
            return []
        }
        for part in open.values.sorted(by: { $0.lastUse < $1.lastUse }) { try commit(part) }
        defer { staged.removeAll() }
        return staged
    }

    /// The input ended: publishes every open part (and parts staged since the last barrier).
    func close() throws(StreamError) {
        guard !closed else { return }
        for part in open.values.sorted(by: { $0.lastUse < $1.lastUse }) { try commit(part) }
        for p in staged where rename(p.staged, p.final) != 0 {
            throw StreamError(.sink, "cannot publish \(p.staged) as \(p.final): \(POSIX.errorText(errno))")
        }
        staged.removeAll()
        closed = true
    }

    func metrics() -> [String: Int64] { counters.snapshot(files: true) }

    private func part(for batch: Batch, row: Int, now: Int64) throws(StreamError) -> PartFile {
        let bucket = template?.bucket(batch, row: row) ?? ""
        if let current, current.bucket == bucket { return current }
        useTick += 1
        if let existing = open[bucket] {
            existing.lastUse = useTick
            current = existing
            return existing
        }
        if open.count >= maxOpen, let lru = open.values.min(by: { $0.lastUse < $1.lastUse }) {
            try commit(lru)
        }
        let part = try startPart(bucket: bucket, now: now)
        part.lastUse = useTick
        open[bucket] = part
        counters.openBuckets.store(Int64(open.count), ordering: .relaxed)
        current = part
        return part
    }

    private func startPart(bucket: String, now: Int64) throws(StreamError) -> PartFile {
        let directory = bucket.isEmpty ? root : root + "/" + bucket
        if !madeDirectories.contains(directory) {
            do {
                try POSIX.makeDirectories(directory)
            } catch {
                throw StreamError(.sink, error.message)
            }
            madeDirectories.insert(directory)
        }
        // Skip sequence numbers a previous run of this worker already used in this directory.
        var name: String
        repeat {
            name = "part-\(worker)-\(nextSeq).\(encoder.fileExtension)"
            nextSeq += 1
        } while POSIX.exists(directory + "/" + name) || POSIX.exists(directory + "/." + name + ".inprogress")
            || POSIX.exists(directory + "/" + PartFile.partialPrefix + name)
        let part = try PartFile(
            bucket: bucket, directory: directory, name: name, nowMs: now, bufferBytes: options.bufferBytes)
        encoder.header(into: &part.buffer)
        return part
    }

    private func flushBuffer(_ part: PartFile) throws(StreamError) {
        let n = try part.flushBuffer()
        counters.bytes.add(Int64(n), ordering: .relaxed)
    }

    /// Closes `part`: published at once, or (checkpoints on) fsynced and staged for the next barrier.
    private func commit(_ part: PartFile) throws(StreamError) {
        let n = try part.finish(sync: options.syncOnCommit || transactional)
        counters.bytes.add(Int64(n), ordering: .relaxed)
        if transactional {
            staged.append(PendingOutput(staged: part.inProgressPath, final: part.finalPath))
        } else {
            try part.commit(partial: earlyStop.isRaised)
        }
        open[part.bucket] = nil
        if current === part { current = nil }
        counters.filesCommitted.add(1, ordering: .relaxed)
        counters.openBuckets.store(Int64(open.count), ordering: .relaxed)
    }

    private func rollExpired(now: Int64) throws(StreamError) {
        let expired = open.values.filter {
            now - $0.openedMs >= options.rolloverMs || now - $0.lastWriteMs >= options.inactivityMs
        }
        for part in expired { try commit(part) }
    }
}

/// Raised once when a run is stopped before its input ended (a signal, `--max-duration`); shared by the
/// sink's writers, which then mark what they commit as partial.
public final class EarlyStopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .relaxed) }

    public var isRaised: Bool { raised.load(ordering: .relaxed) }
}
