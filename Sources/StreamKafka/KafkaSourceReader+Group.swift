internal import CRdKafka
import StreamCore

/// Connecting, subscribing and following the group's rebalances.
extension KafkaSourceReader {
    /// Fetches metadata until a broker answers or `deadline` passes; returns the topics' partition counts.
    func connect(deadline: UInt64, timeoutMs: UInt64) throws(StreamError) -> [String: Int] {
        while true {
            let now = monotonicNow()
            let leftMs = now >= deadline ? 0 : Int32(clamping: (deadline - now) / 1_000_000)
            switch client.partitionCounts(of: spec.topics, timeoutMs: max(1, min(leftMs, 1000))) {
            case .success(let counts):
                let missing = spec.topics.filter { counts[$0] == nil }
                guard missing.isEmpty else {
                    throw StreamError(
                        .config,
                        "topic \(missing.map { "`\($0)`" }.joined(separator: ", ")) does not exist at \(bootstrap)")
                }
                return counts
            case .failure(let error):
                rd_kafka_poll(client.handle, 0)  // serves the error callback: the transport error's text
                if monotonicNow() >= deadline {
                    let reason = client.events.bestErrorText ?? error.message
                    throw StreamError(
                        .brokerUnavailable,
                        "cannot reach Kafka at \(bootstrap): \(reason) (gave up after \(timeoutMs) ms; "
                            + "streamctl.connect.timeout.ms sets how long to try)")
                }
            }
        }
    }

    /// Samples every partition's end offset once per source (`--until caught-up`).
    func sampleEndOffsets(_ counts: [String: Int]) throws(StreamError) {
        let needed = shared.state.withLock { s in
            s.partitionCounts.merge(counts) { _, new in new }
            return context.bounded == .caughtUp && s.endOffsets == nil
        }
        guard needed else { return }
        var ends: [TopicPartition: Int64] = [:]
        for (topic, n) in counts {
            for p in 0..<Int32(n) {
                ends[TopicPartition(topic: topic, partition: p)] =
                    try client.queryWatermarks(topic: topic, partition: p, timeoutMs: 10_000).1
            }
        }
        shared.state.withLock { s in
            if s.endOffsets == nil { s.endOffsets = ends }
        }
    }

    func subscribe() throws(StreamError) {
        let list = rd_kafka_topic_partition_list_new(Int32(spec.topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in spec.topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        // Rebalances, errors and messages all arrive through rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(client.handle)
        let err = rd_kafka_subscribe(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamError(
                .source, "cannot subscribe to \(spec.topics.joined(separator: ", ")): \(rdKafkaErrorText(err))")
        }
        client.needsConsumerClose = true
    }

    /// librdkafka's rebalance callback, on the polling thread.
    func onRebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        endRunBeforeRebalance()
        lastRebalanceNs = monotonicNow()
        let partitions = (0..<Int(list.pointee.cnt)).map { i in
            TopicPartition(
                topic: String(cString: list.pointee.elems[i].topic), partition: list.pointee.elems[i].partition)
        }
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            adopt(partitions, list)
        } else {
            handOff(partitions)
        }
        Self.applyPlainly(rk, err, list)
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && (paused || !alignPaused.isEmpty) {
            if paused {
                rd_kafka_pause_partitions(rk, list)
            } else {
                let held = (0..<Int(list.pointee.cnt)).filter { i in
                    let e = list.pointee.elems[i]
                    return alignPaused.contains(
                        KafkaSourceConnector.splitID(
                            topicIndex: topicIndex[String(cString: e.topic)] ?? 0, partition: e.partition))
                }
                if !held.isEmpty {
                    let sub = rd_kafka_topic_partition_list_new(Int32(held.count))!
                    for i in held { rd_kafka_topic_partition_list_add(sub, list.pointee.elems[i].topic, list.pointee.elems[i].partition) }
                    rd_kafka_pause_partitions(rk, sub)
                    rd_kafka_topic_partition_list_destroy(sub)
                }
            }
        }
        publish()
    }

    /// Takes over `partitions` (the same order as `list`): resolves where each starts, writes those offsets
    /// into `list` for the assign call, and starts tracking them.
    func adopt(_ partitions: [TopicPartition], _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let starts = startOffsets(partitions)
        let (ends, finished) = shared.state.withLock { s in
            for tp in partitions { s.owners[tp] = context.worker }
            return (s.endOffsets, s.finished)
        }
        for (i, tp) in partitions.enumerated() {
            let start = starts[tp]
            list.pointee.elems[i].offset = start ?? symbolicStart()
            var st = PartitionState(
                split: KafkaSourceConnector.splitID(topicIndex: topicIndex[tp.topic] ?? 0, partition: tp.partition),
                position: start, high: nil, end: ends?[tp], finished: finished.contains(tp))
            if let end = st.end, let start, start >= end { st.finished = true }
            parts[tp] = st
            if st.finished { _ = shared.state.withLock { $0.finished.insert(tp) } }
        }
    }

    /// `assignment: static`: takes partitions `i % workers == worker` of every topic, with no group join.
    func assignStatically(_ counts: [String: Int]) throws(StreamError) {
        var all: [TopicPartition] = []
        for topic in spec.topics {
            for p in 0..<Int32(counts[topic] ?? 0) { all.append(TopicPartition(topic: topic, partition: p)) }
        }
        // Process I of N (`--instance I/N`) takes the partitions p with p % N == I; its workers share those.
        let owned = spec.instance.map { i in all.filter { i.owns(partition: $0.partition) } } ?? all
        let mine = owned.enumerated().filter { $0.offset % context.workers == context.worker }.map(\.element)
        let list = rd_kafka_topic_partition_list_new(Int32(max(1, mine.count)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in mine { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        rd_kafka_poll_set_consumer(client.handle)
        adopt(mine, list)
        let err = rd_kafka_assign(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamError(
                .source, "cannot assign partitions of \(spec.topics.joined(separator: ", ")): \(rdKafkaErrorText(err))")
        }
        lastRebalanceNs = monotonicNow()
        staticallyAssigned = true
        client.needsConsumerClose = true
        publish()
    }

    /// Remembers the positions of partitions leaving this reader so the next owner resumes there.
    func handOff(_ partitions: [TopicPartition]) {
        var leaving: [TopicPartition: Int64] = [:]
        for tp in partitions {
            if let pos = parts[tp]?.position { leaving[tp] = pos }
            parts[tp] = nil
        }
        let worker = context.worker
        shared.state.withLock { s in
            s.handoff.merge(leaving) { _, new in new }
            for tp in partitions where s.owners[tp] == worker { s.owners[tp] = nil }
        }
    }

    /// Assigns or revokes as the group's protocol wants (incremental for cooperative, whole for eager).
    static func applyPlainly(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        var failure: OpaquePointer?
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if cooperative { failure = rd_kafka_incremental_assign(rk, list) } else { _ = rd_kafka_assign(rk, list) }
        } else if err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
            if cooperative { failure = rd_kafka_incremental_unassign(rk, list) } else { _ = rd_kafka_assign(rk, nil) }
        } else {
            logLoudly("kafka: rebalance failed: \(rdKafkaErrorText(err))")
            _ = rd_kafka_assign(rk, nil)
        }
        if let failure {
            logLoudly("kafka: cannot apply the group's assignment: \(String(cString: rd_kafka_error_string(failure)))")
            rd_kafka_error_destroy(failure)
        }
    }

    /// Resolves where each newly assigned partition starts: a position handed over by another reader,
    /// else the spec's start position as a concrete offset. Missing entries fall back to `symbolicStart`.
    private func startOffsets(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        var fresh: [TopicPartition] = []
        shared.state.withLock { s in
            for tp in partitions {
                let split = KafkaSourceConnector.splitID(topicIndex: topicIndex[tp.topic] ?? 0, partition: tp.partition)
                if let pos = s.handoff.removeValue(forKey: tp) {
                    out[tp] = pos
                } else if let pos = context.restore[split] {
                    out[tp] = pos  // a restored checkpoint's position
                } else {
                    fresh.append(tp)
                }
            }
        }
        guard !fresh.isEmpty else { return out }
        switch spec.startFrom {
        case .earliest, .latest:
            let latest = spec.startFrom == .latest
            for tp in fresh {
                if let (low, high) = try? client.queryWatermarks(
                    topic: tp.topic, partition: tp.partition, timeoutMs: 5000)
                {
                    out[tp] = latest ? high : low
                }
            }
        case .timestamp(let ms):
            resolve(fresh, into: &out, initial: ms) { list in rd_kafka_offsets_for_times(client.handle, list, 5000) }
        case .committed:
            resolve(fresh, into: &out, initial: Int64(RD_KAFKA_OFFSET_INVALID)) { list in
                rd_kafka_committed(client.handle, list, 5000)
            }
        }
        return out
    }

    /// Runs a lookup over a partition list; offsets it leaves negative start at the partition's end
    /// (timestamp past the newest message) or beginning (nothing committed).
    private func resolve(
        _ fresh: [TopicPartition], into out: inout [TopicPartition: Int64], initial: Int64,
        lookup: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t
    ) {
        let list = rd_kafka_topic_partition_list_new(Int32(fresh.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in fresh { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = initial }
        let err = lookup(list)
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            let tp = TopicPartition(topic: String(cString: e.topic), partition: e.partition)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR && e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0 {
                out[tp] = e.offset
            } else if let (low, high) = try? client.queryWatermarks(
                topic: tp.topic, partition: tp.partition, timeoutMs: 5000)
            {
                if case .timestamp = spec.startFrom { out[tp] = high } else { out[tp] = low }
            }
        }
    }

    /// librdkafka's logical offset for the spec's start position, when no concrete one could be found.
    private func symbolicStart() -> Int64 {
        switch spec.startFrom {
        case .earliest: Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .latest, .timestamp: Int64(RD_KAFKA_OFFSET_END)
        case .committed: Int64(RD_KAFKA_OFFSET_STORED)
        }
    }

    func checkFatal() throws(StreamError) {
        var buf = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(client.handle, &buf, buf.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        let text = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw StreamError(.source, "Kafka consumer failed: \(text)")
    }

    /// Fails once every broker has been down for longer than the connect timeout, confirmed by asking.
    func checkBrokersReachable() throws(StreamError) {
        guard let since = client.events.figures.withLock({ $0.allBrokersDownSince }),
            monotonicNow() &- since > connectTimeoutNs
        else { return }
        if case .success = client.partitionCounts(of: spec.topics, timeoutMs: 1000) {
            client.events.clearBrokersDown()
            return
        }
        throw StreamError(
            .brokerUnavailable,
            "cannot reach Kafka at \(bootstrap): \(client.events.bestErrorText ?? "all brokers are down") "
                + "(for more than \(connectTimeoutNs / 1_000_000) ms)")
    }
}
