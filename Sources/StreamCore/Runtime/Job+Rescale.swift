extension Job {
    /// Changes the parallelism of operator stage `id` at a barrier of its own and returns that barrier's id.
    ///
    /// Rows before the barrier go to the old workers, rows after it to the new layout. Each old worker,
    /// once it has aligned the barrier, waits for the stage's other old workers (so none reads state
    /// another still writes), then takes its new key-group range or retires; added workers wait for that
    /// meeting before they read. No state is moved: key groups prefix every state key. The rows stop
    /// flowing through the stage from the barrier's injection to the meeting (`rescalePauseNs`).
    /// Sources and sinks keep their parallelism.
    @discardableResult
    public func rescale(stage id: String, to parallelism: Int) throws(StreamError) -> Int64 {
        guard let s = stages.firstIndex(where: { $0.plan.id == id }) else {
            throw StreamError(.config, "no stage `\(id)` to rescale")
        }
        guard case .transform(let make) = stages[s].plan.kind else {
            throw StreamError(.config, "stage `\(id)` is a source or sink: only operators change parallelism")
        }
        guard parallelism >= 1, parallelism <= plan.keyGroups.maxParallelism else {
            throw StreamError(
                .config, "parallelism \(parallelism) for `\(id)` is outside 1…\(plan.keyGroups.maxParallelism)")
        }
        return try rescaling.withLock { _ throws(StreamError) -> Int64 in
            try injecting.withLock { _ throws(StreamError) -> Int64 in try rescaleLocked(s, make: make, to: parallelism) }
        }
    }

    private func rescaleLocked(
        _ s: Int, make: @escaping @Sendable (Int, Int) throws(StreamError) -> any StreamOperator, to q: Int
    ) throws(StreamError) -> Int64 {
        let stage = stages[s]
        let next = stages[s + 1]
        let n = reserveBarrierId()
        // The old layout aligns this barrier: its stateful workers take part in the snapshot.
        let statefulNow = stages.filter(\.plan.stateful).reduce(0) { $0 + $1.parallelism }
        let capacity = max(1, live.current.channelCapacity)
        let p = stage.parallelism
        guard q != p else {
            injectBarrier(n)
            return n
        }

        // Added workers: a gate each with the stage's input slots, and a slot in every gate of the next stage,
        // held unreadable until that gate's worker passed barrier n.
        let inputSlots = stage.layout.withLock { $0.inputSlots }
        let addedGates = (p..<max(p, q)).map { _ in InputGate(inputs: inputSlots, capacity: capacity) }
        var addedSlots: [Int] = []
        next.layout.withLock { l in
            for _ in addedGates {
                let slot = l.inputSlots
                l.inputSlots += 1
                for g in l.gates {
                    let i = g.addInput()
                    precondition(i == slot, "gates of one stage share their slot layout")
                    g.setReadable(i, false)
                    gateJoins(g).add(slot: slot, barrier: n)
                }
                addedSlots.append(slot)
            }
        }
        let gates = stage.layout.withLock { l -> [InputGate] in
            let kept = Array(l.gates.prefix(q)) + addedGates
            l.retiredGates += l.gates.dropFirst(q)
            let retiredSlots = l.outputSlots.dropFirst(q)
            l.gates = kept
            l.outputSlots = Array(l.outputSlots.prefix(q)) + addedSlots
            next.layout.withLock { $0.retiredSlots.formUnion(retiredSlots) }
            return kept
        }
        stage.targets.add(after: n, gates: gates)
        let change = Rescale(barrier: n, stage: s, from: p, to: q, injectedAtNs: clock.monotonicNs())
        registerRescale(change)
        injectBarrier(Barrier(id: n), statefulWorkers: statefulNow)

        for (k, gate) in addedGates.enumerated() {
            let w = p + k
            let slot = addedSlots[k]
            let metrics = WorkerMetrics(stage: stage.plan.id, worker: w, gate: gate)
            stage.metrics.withLock { $0.append(metrics) }
            try spawn(name: "\(stage.plan.id)-\(w)") { [self] task throws(StreamError) in
                let emitter = Emitter(
                    slot: slot, table: next.targets, after: n, partitioning: plan.stages[s + 1].input,
                    keyGroups: plan.keyGroups, metrics: metrics, clock: clock)
                guard var carried = change.awaitMeeting(failed: { self.failed }) else {
                    // Abandoned (its input ended first) or failing: end this worker's slot downstream.
                    if !self.failed { emitter.broadcast(.end) }
                    return
                }
                while carried.count < gate.inputs { _ = carried.addInput() }
                let op = try make(w, q)
                try op.reassign(keyGroups: plan.keyGroups.range(worker: w, parallelism: q), watermark: carried.current)
                if carried.current > .min { guard emitter.broadcast(.watermark(carried.current)) else { return } }
                var input = AlignedInput(
                    gate: gate, joins: gateJoins(gate), alignment: BarrierAlignment(inputs: gate.inputs, latest: n),
                    watermarks: carried, ended: carried.endedInputs)
                input.suspended = { [self] in suspending.load(ordering: .acquiring) }
                var worker = OperatorWorker(
                    job: self, stage: s, worker: w, task: task, op: op, input: input, emitter: emitter,
                    metrics: metrics)
                try worker.run()
            }
        }
        return n
    }
}
