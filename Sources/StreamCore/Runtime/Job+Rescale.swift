/// A parallelism change of one operator stage, one of those a rescale barrier carries.
public struct ParallelismChange: Sendable, Hashable {
    public var stage: String
    public var parallelism: Int
    public init(stage: String, parallelism: Int) {
        self.stage = stage
        self.parallelism = parallelism
    }
}

extension Job {
    /// Changes the parallelism of operator stage `id` at a barrier of its own and returns that barrier's id.
    @discardableResult
    public func rescale(stage id: String, to parallelism: Int) throws(StreamError) -> Int64 {
        try rescale([ParallelismChange(stage: id, parallelism: parallelism)])
    }

    /// Changes the parallelism of every stage in `changes` at one barrier and returns its id: all of them
    /// take their new layout at the same cut of the stream, never some before others. The barrier carries
    /// `profile` (the profile being switched to), and with checkpoints on it is a checkpoint.
    ///
    /// Rows before the barrier go to the old workers, rows after it to the new layout. Each old worker of a
    /// changed stage, once it has aligned the barrier, waits for the stage's other old workers (so none reads
    /// state another still writes), then takes its new key-group range or retires; added workers wait for that
    /// meeting before they read. No state is moved: key groups prefix every state key. The rows stop flowing
    /// through a stage from the barrier's injection to its meeting (`rescalePauseNs` is the longest of them).
    /// Sources and sinks keep their parallelism. Stages already at their target change nothing but still
    /// get the barrier.
    @discardableResult
    public func rescale(_ changes: [ParallelismChange], profile: String? = nil) throws(StreamError) -> Int64 {
        var planned: [(stage: Int, make: @Sendable (Int, Int) throws(StreamError) -> any StreamOperator, to: Int)] = []
        for change in changes {
            guard let s = stages.firstIndex(where: { $0.plan.id == change.stage }) else {
                throw StreamError(.config, "no stage `\(change.stage)` to rescale")
            }
            guard case .transform(let make) = stages[s].plan.kind else {
                throw StreamError(
                    .config, "stage `\(change.stage)` is a source or sink: only operators change parallelism")
            }
            guard change.parallelism >= 1, change.parallelism <= plan.keyGroups.maxParallelism else {
                throw StreamError(
                    .config,
                    "parallelism \(change.parallelism) for `\(change.stage)` is outside 1…\(plan.keyGroups.maxParallelism)"
                )
            }
            guard !planned.contains(where: { $0.stage == s }) else {
                throw StreamError(.config, "stage `\(change.stage)` is named twice in one rescale")
            }
            planned.append((s, make, change.parallelism))
        }
        // Upstream first: a stage's added workers take slots in the next stage's old gates, and the next
        // stage's new gates are then laid out with those slots already in them.
        planned.sort { $0.stage < $1.stage }
        return try rescaling.withLock { _ throws(StreamError) -> Int64 in
            try injecting.withLock { _ throws(StreamError) -> Int64 in
                let n = reserveBarrierId()
                // The old layout aligns this barrier: its stateful workers take part in the snapshot.
                let statefulNow = stages.filter(\.plan.stateful).reduce(0) { $0 + $1.parallelism }
                var spawns: [() throws(StreamError) -> Void] = []
                for p in planned where stages[p.stage].parallelism != p.to {
                    spawns.append(prepareRescale(p.stage, make: p.make, to: p.to, barrier: n))
                }
                injectBarrier(Barrier(id: n, profile: profile), statefulWorkers: statefulNow)
                for spawnAdded in spawns { try spawnAdded() }
                return n
            }
        }
    }

    /// Lays out stage `s` for parallelism `q` after barrier `n` and registers the change; returns what starts
    /// its added workers once the barrier is injected.
    private func prepareRescale(
        _ s: Int, make: @escaping @Sendable (Int, Int) throws(StreamError) -> any StreamOperator, to q: Int,
        barrier n: Int64
    ) -> () throws(StreamError) -> Void {
        let stage = stages[s]
        let next = stages[s + 1]
        let capacity = max(1, live.current.channelCapacity)
        let p = stage.parallelism

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

        return { [self] () throws(StreamError) in
            for (k, gate) in addedGates.enumerated() {
                try spawnAddedWorker(stage: s, worker: p + k, slot: addedSlots[k], gate: gate, change: change, make: make)
            }
        }
    }

    private func spawnAddedWorker(
        stage s: Int, worker w: Int, slot: Int, gate: InputGate, change: Rescale,
        make: @escaping @Sendable (Int, Int) throws(StreamError) -> any StreamOperator
    ) throws(StreamError) {
        let stage = stages[s]
        let next = stages[s + 1]
        let n = change.barrier
        let q = change.newParallelism
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
                job: self, stage: s, worker: w, task: task, op: op, input: input, emitter: emitter, metrics: metrics)
            try worker.run()
        }
    }
}
