internal import CRdKafka
import StreamCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One source worker's consumer-group member: reads the partitions the group assigns to it, decodes
/// each message straight into the batch, and tracks its own positions (nothing is auto-committed).
public final class KafkaSourceReader: SourceReader {
    struct PartitionState {
        var split: Int
        /// The next offset to read; nil until the first message or end-of-partition event.
        var position: Int64?
        /// The last known high watermark.
        var high: Int64?
        /// The end offset of a bounded run.
        var end: Int64?
        var finished: Bool
        var atEnd = false
    }

    let client: RdKafkaConsumer
    let spec: KafkaSourceSpec
    let bootstrap: String
    let shared: KafkaSourceShared
    let context: SourceContext
    private var decoder: any RecordDecoder
    private let eventTimeColumn: Int?
    private let kafkaTimestamps: Bool
    /// The `kafka_timestamp` column the message timestamp is written into, when the schema has one.
    private let timestampColumn: Int?
    let topicIndex: [String: Int]
    let connectTimeoutNs: UInt64
    /// `queued.max.messages.kbytes` of this consumer: the profile's, inside the prefetch budget.
    let queuedMaxKBytes: Int
    /// The profile's fetch settings this consumer was created with (librdkafka fixes them at creation).
    let fetchSettings: [Int64]
    /// Topic names by librdkafka topic handle, so messages do not build a String each.
    private var topicNames: [OpaquePointer: String] = [:]

    /// Owned by the polling thread.
    var parts: [TopicPartition: PartitionState] = [:]
    /// The partition the latest messages came from, its state held outside `parts` while its messages run
    /// on: librdkafka hands them out a fetch at a time, so most messages skip three dictionary operations.
    /// Written back when another partition's message comes, at the end of a poll, and before a rebalance.
    private var run: MessageRun?
    /// Event times of a run ended by a rebalance inside a poll, merged into that poll's progress.
    private var pendingProgress: [Int: Int64] = [:]

    struct MessageRun {
        let rkt: OpaquePointer
        let partition: Int32
        let tp: TopicPartition
        var st: PartitionState
        var maxEventTime: Int64?
    }
    /// What `lag()` and `positions()` read from other threads; published after each poll and rebalance.
    let snapshot = Mutex<[TopicPartition: PartitionState]>([:])
    var paused = false
    /// Splits paused by watermark alignment.
    var alignPaused: Set<Int> = []
    var lastRebalanceNs: UInt64?
    private var finishedAll = false
    /// Offsets that fell out of retention before this reader read them (data lost upstream).
    private let lostOffsets = Atomic<Int64>(0)
    /// Partitions were assigned by this process (`assignment: static`): no rebalance will bring more.
    var staticallyAssigned = false
    private var closed = false

    /// Empty-handed in a bounded run: finish this long after the last rebalance when every partition
    /// is finished or owned by another reader of this process...
    static let emptyGraceOwnedNs: UInt64 = 2_000_000_000
    /// ...or this long when the rest of the group lives in other processes.
    static let emptyGraceNs: UInt64 = 10_000_000_000

    init(connector: KafkaSourceConnector, context: SourceContext) throws(StreamError) {
        spec = connector.spec
        bootstrap = connector.bootstrap
        shared = connector.shared
        self.context = context
        decoder = connector.decoderFactory(context.schema)
        kafkaTimestamps = connector.eventTimeFromKafkaTimestamp
        timestampColumn = context.schema.index(of: KafkaSourceConnector.timestampField)
        eventTimeColumn =
            connector.eventTimeFromKafkaTimestamp
            ? nil : context.spec.eventTime?.field.flatMap { context.schema.index(of: $0) }
        topicIndex = Dictionary(uniqueKeysWithValues: spec.topics.enumerated().map { ($1, $0) })

        var properties = spec.properties
        let timeoutText = properties.removeValue(forKey: "streamctl.connect.timeout.ms") ?? "30000"
        guard let timeoutMs = UInt64(timeoutText), timeoutMs > 0 else {
            throw StreamError(
                .config, "streamctl.connect.timeout.ms must be a positive number of ms, not `\(timeoutText)`")
        }
        connectTimeoutNs = timeoutMs * 1_000_000
        properties = properties.filter { !$0.key.hasPrefix("streamctl.") }
        let profile = context.profile
        queuedMaxKBytes = KafkaPrefetch.queuedMaxKBytes(
            profileKBytes: profile.kafkaQueuedMaxKBytes, budgetBytes: connector.prefetchBudgetBytes,
            consumers: context.workers)
        let base: [(String, String)] = [
            ("bootstrap.servers", bootstrap), ("group.id", spec.group),
            ("client.id", "streamctl-source-\(context.worker)"),
            ("enable.auto.commit", "false"), ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "true"), ("partition.assignment.strategy", "cooperative-sticky"),
            // Only used when a position fell out of retention (logged as data loss) or nothing is committed.
            ("auto.offset.reset", "earliest"),
            ("queued.max.messages.kbytes", String(queuedMaxKBytes)),
            // With one consumer queue for all partitions librdkafka compares this count against the whole
            // queue: at the default (100k) every partition stops being fetchable at once and the fetcher
            // sleeps until its next 1 s tick. The byte bound above is the one that should govern.
            ("queued.min.messages", "10000000"),
            ("fetch.max.bytes", String(profile.kafkaFetchMaxBytes)),
            ("receive.message.max.bytes", String(max(100_000_000, profile.kafkaFetchMaxBytes + 512))),
            // The broker answers a fetch once it has fetch.min.bytes or after fetch.wait.max.ms: what a row
            // waits between its produce and its read when the partition is quiet.
            ("fetch.wait.max.ms", String(profile.kafkaFetchWaitMaxMs)),
            ("fetch.min.bytes", String(profile.kafkaFetchMinBytes)),
        ]
        fetchSettings = Self.fetchSettings(profile)
        // The user's properties go last and untouched (security settings included).
        client = try RdKafkaClient.consumer(properties: base, extra: properties)

        let counts = try connect(deadline: monotonicNow() + connectTimeoutNs, timeoutMs: timeoutMs)
        try sampleEndOffsets(counts)
        client.events.rebalance = { [weak self] rk, err, list in
            if let self {
                self.onRebalance(rk, err, list)
            } else {
                KafkaSourceReader.applyPlainly(rk, err, list)
            }
        }
        if spec.assignment == .static { try assignStatically(counts) } else { try subscribe() }
    }

    deinit { close() }

    // MARK: SourceReader

    public func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
        if finishedAll { return SourcePoll(finished: true) }
        var progress: [Int: Int64] = [:]  // split → max event time
        var wait = Int32(clamping: timeoutMs)
        var taken = 0
        var sawMessage = false
        while taken < maxRows {
            guard let message = rd_kafka_consumer_poll(client.handle, wait) else { break }
            wait = 0
            taken += 1
            do {
                try handle(message, into: &batch, progress: &progress, sawMessage: &sawMessage)
            } catch {
                rd_kafka_message_destroy(message)
                throw error
            }
            rd_kafka_message_destroy(message)
        }
        endRun(progress: &progress)
        if !pendingProgress.isEmpty {
            for (split, t) in pendingProgress { progress[split] = max(progress[split] ?? t, t) }
            pendingProgress.removeAll()
        }
        if sawMessage { client.events.clearBrokersDown() }
        try checkFatal()
        try checkBrokersReachable()

        var splits: [SplitProgress] = []
        splits.reserveCapacity(parts.count)
        for (tp, var st) in parts {
            if let (_, high) = client.cachedWatermarks(topic: tp.topic, partition: tp.partition) {
                st.high = max(st.high ?? high, high)
            }
            if let pos = st.position, let high = st.high, pos >= high { st.atEnd = true }
            parts[tp] = st
            splits.append(
                SplitProgress(
                    split: st.split, maxEventTime: progress[st.split], atEnd: st.atEnd, finished: st.finished))
        }
        publish()
        if context.bounded == .caughtUp && boundedRunIsOver() {
            finishedAll = true
            close()
            return SourcePoll(splits: splits, finished: true)
        }
        return SourcePoll(splits: splits, finished: false)
    }

    static func fetchSettings(_ p: Profile) -> [Int64] {
        [p.kafkaFetchWaitMaxMs, Int64(p.kafkaFetchMinBytes), Int64(p.kafkaFetchMaxBytes), Int64(p.kafkaQueuedMaxKBytes)]
    }

    public func needsReopen(for profile: Profile) -> Bool { Self.fetchSettings(profile) != fetchSettings }

    public func setPaused(_ paused: Bool) {
        guard paused != self.paused else { return }
        self.paused = paused
        if paused {
            withAssignment(where: { _ in true }) { rd_kafka_pause_partitions(client.handle, $0) }
        } else {
            // Splits held back by watermark alignment stay paused.
            let held = alignPaused
            withAssignment(where: { !held.contains($0) }) { rd_kafka_resume_partitions(client.handle, $0) }
        }
    }

    /// Watermark alignment: pauses the partitions of `splits`, resumes the others it paused before (unless back
    /// pressure holds every partition).
    public func pauseSplits(_ splits: Set<Int>) -> Bool {
        let pause = splits.subtracting(alignPaused)
        let resume = alignPaused.subtracting(splits)
        alignPaused = splits
        if !pause.isEmpty, !paused {
            withAssignment(where: { pause.contains($0) }) { rd_kafka_pause_partitions(client.handle, $0) }
        }
        if !resume.isEmpty, !paused {
            withAssignment(where: { resume.contains($0) }) { rd_kafka_resume_partitions(client.handle, $0) }
        }
        return true
    }

    /// Runs `body` on the assigned partitions whose split passes `include` (nothing when none does).
    private func withAssignment(
        where include: (Int) -> Bool,
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t
    ) {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let chosen = rd_kafka_topic_partition_list_new(max(1, list.pointee.cnt))!
        defer { rd_kafka_topic_partition_list_destroy(chosen) }
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            let topic = String(cString: e.topic)
            let split = KafkaSourceConnector.splitID(topicIndex: topicIndex[topic] ?? 0, partition: e.partition)
            if include(split) { rd_kafka_topic_partition_list_add(chosen, e.topic, e.partition) }
        }
        guard chosen.pointee.cnt > 0 else { return }
        _ = body(chosen)
    }

    /// Records behind the high watermark, per split, for the partitions this reader holds.
    public func lag() -> [Int: Int64] {
        var out: [Int: Int64] = [:]
        for (tp, st) in snapshot.withLock({ $0 }) {
            // A partition that reached the run's end offset has nothing left that this run owes.
            if st.finished {
                out[st.split] = 0
                continue
            }
            let high = client.cachedWatermarks(topic: tp.topic, partition: tp.partition)?.1 ?? st.high
            guard let high else { continue }
            out[st.split] = max(0, high - (st.position ?? high))
        }
        return out
    }

    public func metrics() -> [String: Int64] {
        [
            "data_loss_offsets": lostOffsets.load(ordering: .relaxed),
            "kafka_prefetch_bound_bytes": Int64(queuedMaxKBytes) * 1024,
            "kafka_fetch_wait_max_ms": fetchSettings[0],
        ]
    }

    /// The next offset to read of every partition this reader holds and has a position in.
    public func positions() -> [TopicPartition: Int64] {
        snapshot.withLock { s in s.compactMapValues { $0.position } }
    }

    /// The next offset of every partition this reader holds, by split id, for a checkpoint.
    public func splitPositions() -> [Int: Int64] {
        var out: [Int: Int64] = [:]
        for st in parts.values { if let p = st.position { out[st.split] = p } }
        return out
    }

    /// Positions in the source's hand-off table: partitions a reader of this process let go of (closed for a
    /// reopen, or revoked) that no reader has taken up yet. A reopened consumer in group mode holds nothing
    /// until the group assigns it again; a barrier meanwhile records these.
    public func handedOverPositions() -> [Int: Int64] {
        let handoff = shared.state.withLock { $0.handoff }
        var out: [Int: Int64] = [:]
        for (tp, pos) in handoff {
            guard let t = topicIndex[tp.topic] else { continue }
            out[KafkaSourceConnector.splitID(topicIndex: t, partition: tp.partition)] = pos
        }
        return out
    }

    /// Commits a completed checkpoint's offsets of the partitions held here to the consumer group
    /// (asynchronously: for outside lag monitoring; restores read the checkpoint, not the group).
    public func commit(_ positions: [Int: Int64]) {
        let mine = parts.compactMap { tp, st in positions[st.split].map { (tp, $0) } }
        guard !mine.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(mine.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in mine { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset }
        let err = rd_kafka_commit(client.handle, list, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logLoudly("kafka: committing checkpoint offsets failed: \(rdKafkaErrorText(err))")
        }
    }

    /// Leaves the group; positions of held partitions pass to whichever reader gets them next.
    public func close() {
        guard !closed else { return }
        closed = true
        handOff(Array(parts.keys))
        publish()
        client.closeConsumer()
    }

    // MARK: Messages

    private func handle(
        _ message: UnsafeMutablePointer<rd_kafka_message_t>, into batch: inout Batch, progress: inout [Int: Int64],
        sawMessage: inout Bool
    ) throws(StreamError) {
        let m = message.pointee
        guard let rkt = m.rkt else {
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                client.events.recordError(code: m.err.rawValue, text: messageErrorText(message))
            }
            return
        }
        if run?.rkt != rkt || run?.partition != m.partition {
            endRun(progress: &progress)
            let tp = TopicPartition(topic: topicName(rkt), partition: m.partition)
            guard let st = parts[tp] else { return }  // revoked meanwhile
            run = MessageRun(rkt: rkt, partition: m.partition, tp: tp, st: st, maxEventTime: nil)
        }
        let tp = run!.tp
        let topic = tp.topic
        var st = run!.st
        defer { run!.st = st }

        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            st.position = m.offset
            st.high = max(st.high ?? m.offset, m.offset)
            st.atEnd = true
            markFinishedIfAtEnd(tp, &st)
            return
        }
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = messageErrorText(message)
            if m.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
            {
                throw StreamError(.source, "cannot read \(tp): \(text)")
            }
            logLoudly("kafka: \(tp): \(text)")
            return
        }
        sawMessage = true
        if st.finished { return }
        if let end = st.end, m.offset >= end {
            st.position = max(st.position ?? m.offset, m.offset)
            markFinishedIfAtEnd(tp, &st)
            return
        }
        if let pos = st.position, m.offset > pos,
            let (low, _) = client.cachedWatermarks(topic: topic, partition: m.partition), low > pos
        {
            lostOffsets.add(low - pos, ordering: .relaxed)
            logLoudly(
                "kafka: DATA LOSS: \(tp) jumped from offset \(pos) to \(m.offset): offsets \(pos)..<\(low) fell out "
                    + "of the topic's retention before they were read (auto.offset.reset)")
        }
        st.position = m.offset + 1
        st.atEnd = false
        let bytes = UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.len)
        var decoded = true
        do {
            try decoder.decode(bytes, into: &batch)
        } catch {
            decoded = false
            try context.badRecords.handle(raw: bytes, origin: "\(tp)@\(m.offset)", error: error)
        }
        if decoded {
            var eventTime: Int64?
            if kafkaTimestamps {
                let ts = rd_kafka_message_timestamp(message, nil)
                if ts >= 0 { eventTime = ts }
            }
            if let c = timestampColumn, batch.count > 0 {
                // The decoder left the nullable column null: the message's own timestamp goes there.
                let ts = rd_kafka_message_timestamp(message, nil)
                if ts >= 0 {
                    batch.columns[c].int64s[batch.count - 1] = ts
                    if batch.columns[c].validity != nil { batch.columns[c].validity![batch.count - 1] = true }
                }
            }
            if !kafkaTimestamps, let c = eventTimeColumn, batch.count > 0,
                batch.columns[c].type.storage == .int64, batch.columns[c].isValid(batch.count - 1)
            {
                eventTime = batch.columns[c].int64s[batch.count - 1]
            }
            if let eventTime { run!.maxEventTime = max(run!.maxEventTime ?? eventTime, eventTime) }
        }
        markFinishedIfAtEnd(tp, &st)
    }

    /// Writes the current run's partition state and event time back (see `run`).
    func endRun(progress: inout [Int: Int64]) {
        guard let r = run else { return }
        run = nil
        parts[r.tp] = r.st
        if let t = r.maxEventTime { progress[r.st.split] = max(progress[r.st.split] ?? t, t) }
    }

    /// Before a rebalance changes `parts`: the run's state goes back first (its event time is kept for the
    /// poll's progress through `pendingProgress`).
    func endRunBeforeRebalance() {
        var progress: [Int: Int64] = [:]
        endRun(progress: &progress)
        for (split, t) in progress { pendingProgress[split] = max(pendingProgress[split] ?? t, t) }
    }

    private func markFinishedIfAtEnd(_ tp: TopicPartition, _ st: inout PartitionState) {
        guard !st.finished, let end = st.end, let pos = st.position, pos >= end else { return }
        st.finished = true
        _ = shared.state.withLock { $0.finished.insert(tp) }
    }

    private func topicName(_ rkt: OpaquePointer) -> String {
        if let name = topicNames[rkt] { return name }
        let name = String(cString: rd_kafka_topic_name(rkt))
        topicNames[rkt] = name
        return name
    }

    private func messageErrorText(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> String {
        String(cString: rd_kafka_message_errstr(message))
    }

    func publish() {
        let copy = parts
        snapshot.withLock { $0 = copy }
    }

    /// A bounded run is over for this reader when everything it holds is finished, or when it holds
    /// nothing and, after the group settled, nothing is left for it.
    private func boundedRunIsOver() -> Bool {
        let (all, finished, ownedElsewhere) = shared.state.withLock { s in
            (s.allPartitions, s.finished, s.owners.filter { $0.value != context.worker }.keys)
        }
        if !all.isEmpty && all.allSatisfy(finished.contains) { return true }
        if !parts.isEmpty { return parts.values.allSatisfy(\.finished) }
        if staticallyAssigned { return true }
        guard let last = lastRebalanceNs else { return false }
        let waited = monotonicNow() &- last
        let owned = Set(ownedElsewhere)
        if waited >= Self.emptyGraceOwnedNs && all.allSatisfy({ finished.contains($0) || owned.contains($0) }) {
            return true
        }
        return waited >= Self.emptyGraceNs
    }
}

/// Writes an operational warning to standard error at once.
func logLoudly(_ text: String) {
    let line = Array((text + "\n").utf8)
    line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
