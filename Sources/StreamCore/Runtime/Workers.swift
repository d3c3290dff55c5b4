#if canImport(Glibc)
    import Glibc
#endif

extension Job {
    func runWorker(stage s: Int, worker w: Int, task: Int, metrics: WorkerMetrics) throws(StreamError) {
        let stage = stages[s]
        let emitter: Emitter? =
            s + 1 < stages.count
            ? Emitter(
                slot: w, table: stages[s + 1].targets, after: .min, partitioning: plan.stages[s + 1].input,
                keyGroups: plan.keyGroups, metrics: metrics, clock: clock) : nil
        switch stage.plan.kind {
        case .source(let connector):
            try SourceWorker(
                job: self, stage: stage.plan, worker: w, task: task, connector: connector, emitter: emitter!,
                metrics: metrics, barrierQueue: sourceQueues[w]
            ).run()
        case .transform(let make):
            let op = try make(w, stage.plan.parallelism)
            // A restored operator resumes at the watermark its checkpoint recorded: nothing fires twice.
            let floor = checkpointing?.restored?.watermarks[stage.plan.id] ?? .min
            if floor > .min {
                try op.reassign(
                    keyGroups: plan.keyGroups.range(worker: w, parallelism: stage.plan.parallelism), watermark: floor)
            }
            let gate = stage.layout.withLock { $0.gates[w] }
            var input = AlignedInput(
                gate: gate, joins: gateJoins(gate), alignment: BarrierAlignment(inputs: gate.inputs),
                watermarks: InputWatermarks(inputs: gate.inputs, floor: floor), ended: [])
            input.suspended = { [self] in suspending.load(ordering: .acquiring) }
            var worker = OperatorWorker(
                job: self, stage: s, worker: w, task: task, op: op, input: input, emitter: emitter!, metrics: metrics)
            try worker.run()
        case .sink(let connector):
            var context = SinkContext(
                worker: w, workers: stage.plan.parallelism, schema: stage.plan.outputSchema, profile: plan.profile,
                clock: clock)
            context.transactional = checkpointing != nil && connector.isTransactional
            let writer = try connector.openWriter(context)
            let gate = stage.layout.withLock { $0.gates[w] }
            let input = AlignedInput(
                gate: gate, joins: gateJoins(gate), alignment: BarrierAlignment(inputs: gate.inputs),
                watermarks: InputWatermarks(inputs: gate.inputs), ended: [])
            var worker = SinkWorker(
                job: self, task: task, writer: writer, stagesAtEnd: context.transactional, input: input,
                metrics: metrics)
            try worker.run()
        }
    }
}

/// The loop of one source worker: send waiting barriers, poll the reader into a batch, track per-split
/// watermarks, send batches and watermarks downstream, stop on finish, on request or at the row limit.
struct SourceWorker {
    let job: Job
    let stage: StagePlan
    let worker: Int
    let task: Int
    let connector: any SourceConnector
    let emitter: Emitter
    let metrics: WorkerMetrics
    let barrierQueue: SourceBarrierQueue

    func run() throws(StreamError) {
        var view = ProfileView(job.live)
        var context = SourceContext(
            worker: worker, workers: stage.parallelism, schema: stage.outputSchema, spec: job.plan.source,
            profile: view.profile, clock: job.clock, badRecords: job.badRecords, bounded: job.limits.bound)
        let restored = job.checkpointing?.restored
        context.restore = restored?.positions ?? [:]
        var reader = try connector.openReader(context)
        let board = job.alignmentBoard
        let me = worker
        defer {
            reader.close()
            barrierQueue.markEnded()
            _ = board.post(worker: me, slowest: nil)
        }
        var reopened: Int64 = 0
        var alignment = SplitAlignment()
        // With checkpoints, reaching the end offsets of a caught-up run waits for the final barrier instead of
        // ending: what is still open stays in state for the next run.
        let waitAtEnd = job.checkpointing != nil && job.limits.bound == .caughtUp
        var caughtUp = false
        var recorded: [Int64: [Int: Int64]] = [:]
        var committed: Int64 = 0
        var splitsPublishedNs: UInt64 = 0
        emitter.onBackPressure = { reader.setPaused($0) }
        let queue = barrierQueue
        emitter.barrierWaiting = { queue.hasPending }
        let eventTime = job.plan.source.eventTime
        var watermarks = SplitWatermarks(
            maxDisorderMs: eventTime?.maxDisorderMs ?? 0, idleTimeoutMs: eventTime?.idleTimeoutMs ?? 10_000)
        if let restored, eventTime != nil {
            let now = job.clock.monotonicNs()
            for split in reader.splitPositions().keys {
                if let t = restored.eventTimes[split] {
                    watermarks.record(SplitProgress(split: split, maxEventTime: t), nowNs: now)
                }
            }
        }

        while !job.stopRequested.load(ordering: .acquiring) {
            if view.refresh(), reader.needsReopen(for: view.profile) {
                // A setting fixed when the reader opened changed (librdkafka's fetch settings): reopen it where
                // it is. Rows read so far went downstream, positions pass to the new reader, so nothing is read
                // twice or skipped; a barrier recorded before the reopen keeps the positions it recorded.
                reader.close()
                context.profile = view.profile
                reader = try connector.openReader(context)
                let current = reader
                emitter.onBackPressure = { current.setPaused($0) }
                if !alignment.paused.isEmpty { _ = reader.pauseSplits(alignment.paused) }
                reopened += 1
                metrics.setExtra(["source_reopened": reopened])
                metrics.setExtra(reader.metrics())
            }
            guard sendWaitingBarriers(reader: reader, watermarks: watermarks, recorded: &recorded) else { return }
            let done = job.completedCheckpoint.load(ordering: .acquiring)
            if done > committed {
                committed = done
                if let positions = recorded[done] { reader.commit(positions) }
                recorded = recorded.filter { $0.key > done }
            }
            if caughtUp {
                usleep(UInt32(max(1, min(100, view.profile.flushLatencyMs))) * 1000)
                continue
            }
            var maxRows = max(1, view.profile.batchSize)
            if let limit = job.limits.maxRecords {
                let left = limit - job.rowsRead.load(ordering: .relaxed)
                if left <= 0 {
                    // With checkpoints the limit is a stop like any other: wait for the final barrier.
                    guard job.checkpointing != nil else { break }
                    caughtUp = true
                    barrierQueue.markCaughtUp()
                    continue
                }
                maxRows = min(maxRows, left)
            }
            var batch = Batch(schema: stage.outputSchema, capacity: maxRows)
            let start = job.clock.monotonicNs()
            // The flush latency bounds how long a partly filled batch waits, and how long a barrier waits.
            let timeoutMs = Int(max(1, min(100, view.profile.flushLatencyMs)))
            let poll = try reader.poll(into: &batch, maxRows: maxRows, timeoutMs: timeoutMs)
            let now = job.clock.monotonicNs()
            if batch.isEmpty {
                metrics.add(metrics.idleNs, Int64(now &- start))
            } else {
                metrics.add(metrics.busyNs, Int64(now &- start))
                metrics.add(metrics.rowsIn, Int64(batch.count))
                job.rowsRead.add(batch.count, ordering: .relaxed)
            }
            if eventTime != nil {
                for p in poll.splits { watermarks.record(p, nowNs: now) }
                align(&alignment, watermarks: watermarks, nowNs: now, reader: reader, view: view)
            }
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
            // Per-split figures for the metrics, a few times a second rather than every poll.
            if now &- splitsPublishedNs >= 200_000_000 || poll.finished {
                splitsPublishedNs = now
                metrics.setSplits(SplitFigures.of(lag: lag, watermarks: watermarks))
            }
            metrics.setExtra(reader.metrics())
            if poll.finished {
                if waitAtEnd {
                    caughtUp = true
                    barrierQueue.markCaughtUp()
                    continue
                }
                job.ledger.recordFinal(positions: reader.splitPositions(), eventTimes: watermarks.eventTimes)
                break
            }
        }
        // A failing job's sources stop too, but what they read did not end: nothing may fire as if it had.
        guard !job.failed else { return }
        // A final barrier requested with the stop goes out before the end.
        guard sendWaitingBarriers(reader: reader, watermarks: watermarks, recorded: &recorded) else { return }
        emitter.broadcast(.end)
    }

    /// Watermark alignment: pauses the splits that run ahead of the source's slowest by more than the live
    /// profile's `max_drift`, resumes those back within it.
    private func align(
        _ alignment: inout SplitAlignment, watermarks: SplitWatermarks, nowNs: UInt64, reader: any SourceReader,
        view: ProfileView
    ) {
        let live = watermarks.liveEventTimes(nowNs: nowNs)
        let slowest = job.alignmentBoard.post(worker: worker, slowest: live.values.min())
        guard alignment.update(live: live, slowest: slowest, maxDriftMs: view.profile.watermarkMaxDriftMs) else { return }
        _ = reader.pauseSplits(alignment.paused)
        metrics.setExtra([
            "aligned_pauses": alignment.pauses, "aligned_resumes": alignment.resumes,
            "aligned_paused": Int64(alignment.paused.count),
        ])
    }

    /// Sends every requested barrier and cancel marker, in order, recording the reader's positions for each
    /// checkpoint; false when the job is shutting down.
    private func sendWaitingBarriers(
        reader: any SourceReader, watermarks: SplitWatermarks, recorded: inout [Int64: [Int: Int64]]
    ) -> Bool {
        for item in barrierQueue.take() {
            switch item {
            case .barrier(let b):
                if job.checkpointing != nil {
                    let positions = reader.splitPositions()
                    // A split in hand-off (its reader reopened, the group has not given it back yet) is read from
                    // the handed-over position next: without it the checkpoint would restart it from `start_from`.
                    // A worker that holds the split reports it instead, before or after this barrier.
                    let handedOver = reader.handedOverPositions()
                    let eventTimes = watermarks.eventTimes
                    recorded[b.id] = positions
                    job.ledger.update(b.id) { r in
                        r.positions.merge(positions) { $1 }
                        r.positions.merge(handedOver) { held, _ in held }
                        r.eventTimes.merge(eventTimes) { $1 }
                    }
                }
                guard emitter.broadcast(.barrier(b)) else { return false }
                job.barriers.acknowledge(b.id, task: task)
                barrierQueue.markSent(b.id)
                emitter.barrierPassed(b.id)
            case .cancel(let id):
                guard emitter.broadcast(.cancel(id)) else { return false }
            }
        }
        return true
    }
}

/// The loop of one operator worker: read the inputs through alignment, call the operator, send what it
/// emits; at a barrier snapshot, forward and acknowledge it, and take part in a rescale at that barrier.
struct OperatorWorker {
    let job: Job
    let stage: Int
    let worker: Int
    let task: Int
    let op: any StreamOperator
    var input: AlignedInput
    let emitter: Emitter
    let metrics: WorkerMetrics

    mutating func run() throws(StreamError) {
        var out = Output()
        func flush(_ out: inout Output) -> Bool {
            for b in out.take() where !emitter.send(b) { return false }
            return true
        }
        while true {
            let waitStart = job.clock.monotonicNs()
            guard let event = input.next() else { return }  // closed: the job is failing
            let start = job.clock.monotonicNs()
            metrics.add(metrics.idleNs, Int64(start &- waitStart))
            var goOn = true
            switch event {
            case .batch(let batch):
                metrics.add(metrics.rowsIn, Int64(batch.count))
                try op.process(batch, into: &out)
                let late = op.takeLateRows()
                if late > 0 { metrics.add(metrics.lateRows, late) }
                goOn = flush(&out)
            case .watermark(let wm):
                try op.onWatermark(wm, into: &out)
                metrics.watermark.store(wm, ordering: .relaxed)
                goOn = flush(&out) && emitter.broadcast(.watermark(wm))
            case .snapshot(let barrier):
                try op.onBarrier(barrier, into: &out)
                goOn = flush(&out) && emitter.broadcast(.barrier(barrier))
                guard goOn else { return }
                guard try takeCheckpoint(barrier) else { return }
                job.barriers.acknowledge(barrier.id, task: task)
                emitter.barrierPassed(barrier.id)
                if let change = job.rescale(at: barrier.id, stage: stage) {
                    guard try takePart(in: change, barrier: barrier, out: &out) else { return }
                }
            case .abort(let id):
                job.barriers.decline(id)
                goOn = emitter.broadcast(.cancel(id))
            case .ended:
                // An end that raced a failure: firing now would emit windows cut short.
                guard !job.failed else { return }
                job.abandonRescales(stage: stage, after: input.alignment.latest)
                // Stopped at a final barrier: what is still open stays in state, unfired.
                if !job.suspending.load(ordering: .acquiring) { try op.finish(into: &out) }
                if flush(&out) { emitter.broadcast(.end) }
                return
            }
            let blocked = emitter.takeBlockedNs()
            let elapsed = job.clock.monotonicNs() &- start
            metrics.add(metrics.busyNs, Int64(elapsed &- min(blocked, elapsed)))
            metrics.setExtra(op.metrics())
            if !goOn { return }
        }
    }

    /// Records this worker's watermark for the checkpoint and, in a stateful stage, waits until the job's
    /// one state snapshot of it is taken. False: stop this thread (the job failed).
    private func takeCheckpoint(_ barrier: Barrier) throws(StreamError) -> Bool {
        guard let checkpointing = job.checkpointing else { return true }
        let stageId = job.plan.stages[stage].id
        let wm = input.watermarks.current
        job.ledger.update(barrier.id) { r in r.watermarks[stageId] = min(r.watermarks[stageId] ?? .max, wm) }
        guard job.plan.stages[stage].stateful, let state = job.state else { return true }
        let job = self.job
        let id = barrier.id
        do throws(StreamError) {
            return try arriveAtSnapshot(id, state: state, checkpointing: checkpointing)
        } catch {
            // The checkpoint fails, the job goes on: the coordinator counts it against tolerable_failures.
            job.ledger.update(id) { $0.failure = error.message }
            job.barriers.decline(id)
            return true
        }
    }

    private func arriveAtSnapshot(_ id: Int64, state: any KeyedStateBackend, checkpointing: JobCheckpointing)
        throws(StreamError) -> Bool
    {
        let job = self.job
        return try job.snapshots.arrive(
            id, clock: job.clock, failed: { job.failed },
            take: { () throws(StreamError) in
                let directory = checkpointing.stagingDirectory + "/\(id)"
                let files = try state.snapshot(into: directory)
                job.ledger.update(id) { r in
                    r.stateFiles = files
                    r.stateDirectory = directory
                }
            },
            record: { pause in job.ledger.update(id) { $0.pauseNs = pause } })
    }

    /// An old worker at its rescale barrier: re-fire late updates so nothing operator-local is left, meet
    /// the stage's other workers, then take the new key-group range — or retire. False: stop this thread.
    private func takePart(in change: Rescale, barrier: Barrier, out: inout Output) throws(StreamError) -> Bool {
        let wm = input.watermarks.current
        if wm > .min {
            try op.onWatermark(wm, into: &out)
            for b in out.take() where !emitter.send(b) { return false }
        }
        // Whatever that firing buffered goes to state before another worker may read it.
        try op.onBarrier(barrier, into: &out)
        for b in out.take() where !emitter.send(b) { return false }
        let job = self.job
        guard change.arrive(watermarks: input.watermarks, nowNs: { job.clock.monotonicNs() }, failed: { job.failed })
        else { return false }
        guard worker < change.newParallelism else {
            _ = job.retiredTasks.withLock { $0.insert(task) }
            emitter.broadcast(.end)
            return false
        }
        try op.reassign(
            keyGroups: job.plan.keyGroups.range(worker: worker, parallelism: change.newParallelism), watermark: wm)
        return true
    }
}

/// The loop of one sink worker: write batches, flush at aligned barriers and acknowledge them, close the
/// writer when every input ended.
struct SinkWorker {
    let job: Job
    let task: Int
    let writer: any SinkWriter
    /// Checkpoints are on and the writer stages its output: what it holds at the end is staged too, for
    /// the job's last manifest, instead of being published by the writer.
    let stagesAtEnd: Bool
    var input: AlignedInput
    let metrics: WorkerMetrics

    mutating func run() throws(StreamError) {
        var view = ProfileView(job.live)
        while true {
            let waitStart = job.clock.monotonicNs()
            guard let event = input.next() else { return }
            let start = job.clock.monotonicNs()
            metrics.add(metrics.idleNs, Int64(start &- waitStart))
            if view.refresh() { writer.apply(view.profile) }
            switch event {
            case .batch(let batch):
                metrics.add(metrics.rowsIn, Int64(batch.count))
                try writer.write(batch)
                metrics.add(metrics.rowsOut, Int64(batch.count))
            case .watermark(let wm):
                metrics.watermark.store(wm, ordering: .relaxed)
            case .snapshot(let barrier):
                let pending = try writer.prepare(checkpoint: barrier.id)
                if job.checkpointing != nil, !pending.isEmpty {
                    job.ledger.update(barrier.id) { $0.pending += pending }
                }
                job.barriers.acknowledge(barrier.id, task: task)
            case .abort(let id):
                job.barriers.decline(id)
            case .ended:
                // A failing job publishes nothing: the restore decides what of it counts.
                guard !job.failed else { return }
                if stagesAtEnd {
                    // Published after the manifest that covers it is durable, never before: a failure between
                    // the two would publish windows the restored checkpoint fires again.
                    job.ledger.recordEnded(try writer.prepare(checkpoint: input.alignment.latest))
                }
                try writer.close()
                metrics.setExtra(writer.metrics())
                return
            }
            metrics.add(metrics.busyNs, Int64(job.clock.monotonicNs() &- start))
            metrics.setExtra(writer.metrics())
        }
    }
}
