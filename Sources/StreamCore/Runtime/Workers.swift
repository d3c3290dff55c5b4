/// The loop of one source worker: poll the reader into a batch, track per-split watermarks, send batches
/// and watermarks downstream, stop on finish, on request or at the row limit.
struct SourceWorker {
    let job: Job
    let stage: StagePlan
    let worker: Int
    let connector: any SourceConnector
    let emitter: Emitter
    let metrics: WorkerMetrics

    func run() throws(StreamError) {
        let profile = job.plan.profile
        let context = SourceContext(
            worker: worker, workers: stage.parallelism, schema: stage.outputSchema, spec: job.plan.source,
            profile: profile, clock: job.clock, badRecords: job.badRecords, bounded: job.limits.bound)
        let reader = try connector.openReader(context)
        defer { reader.close() }
        emitter.onBackPressure = { reader.setPaused($0) }
        let eventTime = job.plan.source.eventTime
        var watermarks = SplitWatermarks(
            maxDisorderMs: eventTime?.maxDisorderMs ?? 0, idleTimeoutMs: eventTime?.idleTimeoutMs ?? 10_000)
        var lastBarrier: Int64 = 0
        let batchSize = max(1, profile.batchSize)

        while !job.stopRequested.load(ordering: .relaxed) {
            let barrier = job.pendingBarrier.load(ordering: .relaxed)
            if barrier > lastBarrier {
                lastBarrier = barrier
                guard emitter.broadcast(.barrier(Barrier(id: barrier))) else { return }
            }
            var maxRows = batchSize
            if let limit = job.limits.maxRecords {
                let left = limit - job.rowsRead.load(ordering: .relaxed)
                if left <= 0 { break }
                maxRows = min(maxRows, left)
            }
            var batch = Batch(schema: stage.outputSchema, capacity: maxRows)
            let start = job.clock.monotonicNs()
            let poll = try reader.poll(into: &batch, maxRows: maxRows, timeoutMs: 100)
            let now = job.clock.monotonicNs()
            if batch.isEmpty {
                metrics.add(metrics.idleNs, Int64(now &- start))
            } else {
                metrics.add(metrics.busyNs, Int64(now &- start))
                metrics.add(metrics.rowsIn, Int64(batch.count))
                job.rowsRead.add(batch.count, ordering: .relaxed)
            }
            if eventTime != nil { for p in poll.splits { watermarks.record(p, nowNs: now) } }
            if !batch.isEmpty {
                guard emitter.send(batch) else { return }
            }
            if eventTime != nil, let wm = watermarks.advance(nowNs: job.clock.monotonicNs()) {
                metrics.watermark.store(wm, ordering: .relaxed)
                guard emitter.broadcast(.watermark(wm)) else { return }
            }
            // A reader that finished has handed back its partitions: it owes nothing more.
            let lag = reader.lag()
            if !lag.isEmpty || poll.finished { metrics.setExtra(["lag": lag.values.reduce(0, +)]) }
            metrics.setExtra(reader.metrics())
            if poll.finished { break }
        }
        emitter.broadcast(.end)
    }
}

/// The loop of one operator worker: receive from the inbox, keep per-input watermarks and barrier
/// alignment, call the operator, send what it emits.
struct OperatorWorker {
    let job: Job
    let inbox: BoundedChannel<Envelope>
    let inputs: Int
    let op: any StreamOperator
    let emitter: Emitter
    let metrics: WorkerMetrics

    func run() throws(StreamError) {
        var watermarks = InputWatermarks(inputs: inputs)
        var alignment = BarrierAlignment(inputs: inputs)
        var held: [Envelope] = []
        var out = Output()
        var ended = 0

        func flush(_ out: inout Output) -> Bool {
            for b in out.take() where !emitter.send(b) { return false }
            return true
        }

        // Returns false when the worker must stop (job failing or every input ended).
        func handle(_ envelope: Envelope) throws(StreamError) -> Bool {
            switch envelope.message {
            case .batch(let batch):
                if alignment.onMessage(input: envelope.input) == .buffer {
                    held.append(envelope)
                    return true
                }
                metrics.add(metrics.rowsIn, Int64(batch.count))
                try op.process(batch, into: &out)
                let late = op.takeLateRows()
                if late > 0 { metrics.add(metrics.lateRows, late) }
                return flush(&out)
            case .watermark(let wm):
                if alignment.onMessage(input: envelope.input) == .buffer {
                    held.append(envelope)
                    return true
                }
                if let advanced = watermarks.update(input: envelope.input, watermark: wm) {
                    try op.onWatermark(advanced, into: &out)
                    metrics.watermark.store(advanced, ordering: .relaxed)
                    guard flush(&out) else { return false }
                    return emitter.broadcast(.watermark(advanced))
                }
                return true
            case .barrier(let barrier):
                if case .snapshot(let id) = alignment.onBarrier(barrier.id, input: envelope.input) {
                    return try snapshot(Barrier(id: id, profile: barrier.profile))
                }
                return true
            case .end:
                ended += 1
                let action = alignment.onEnd(input: envelope.input)
                if let advanced = watermarks.end(input: envelope.input), ended < inputs {
                    try op.onWatermark(advanced, into: &out)
                    guard flush(&out) else { return false }
                    guard emitter.broadcast(.watermark(advanced)) else { return false }
                }
                if case .snapshot(let id) = action { guard try snapshot(Barrier(id: id)) else { return false } }
                if ended == inputs {
                    try op.finish(into: &out)
                    guard flush(&out) else { return false }
                    emitter.broadcast(.end)
                    return false
                }
                return true
            }
        }

        func snapshot(_ barrier: Barrier) throws(StreamError) -> Bool {
            try op.onBarrier(barrier, into: &out)
            guard flush(&out), emitter.broadcast(.barrier(barrier)) else { return false }
            let replay = held
            held.removeAll()
            for e in replay { guard try handle(e) else { return false } }
            return true
        }

        while true {
            let waitStart = job.clock.monotonicNs()
            guard let envelope = inbox.receive() else { return }  // closed: the job is failing
            let start = job.clock.monotonicNs()
            metrics.add(metrics.idleNs, Int64(start &- waitStart))
            let goOn = try handle(envelope)
            let blocked = emitter.takeBlockedNs()
            metrics.add(
                metrics.busyNs,
                Int64((job.clock.monotonicNs() &- start) &- min(blocked, job.clock.monotonicNs() &- start)))
            metrics.setExtra(op.metrics())
            if !goOn { return }
        }
    }
}

/// The loop of one sink worker: write batches, close the writer when every input ended.
struct SinkWorker {
    let job: Job
    let inbox: BoundedChannel<Envelope>
    let inputs: Int
    let writer: any SinkWriter
    let metrics: WorkerMetrics

    func run() throws(StreamError) {
        var ended = 0
        var alignment = BarrierAlignment(inputs: inputs)
        while true {
            let waitStart = job.clock.monotonicNs()
            guard let envelope = inbox.receive() else { return }
            let start = job.clock.monotonicNs()
            metrics.add(metrics.idleNs, Int64(start &- waitStart))
            switch envelope.message {
            case .batch(let batch):
                metrics.add(metrics.rowsIn, Int64(batch.count))
                try writer.write(batch)
                metrics.add(metrics.rowsOut, Int64(batch.count))
            case .watermark(let wm):
                metrics.watermark.store(wm, ordering: .relaxed)
            case .barrier(let b):
                if case .snapshot = alignment.onBarrier(b.id, input: envelope.input) { try writer.flush() }
            case .end:
                ended += 1
                _ = alignment.onEnd(input: envelope.input)
            }
            metrics.add(metrics.busyNs, Int64(job.clock.monotonicNs() &- start))
            metrics.setExtra(writer.metrics())
            if ended == inputs {
                try writer.close()
                metrics.setExtra(writer.metrics())
                return
            }
        }
    }
}
