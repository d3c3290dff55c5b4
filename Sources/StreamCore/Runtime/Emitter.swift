/// Sends one worker's output to the next stage's workers, partitioned as the edge says, and accounts the
/// time spent blocked on full inputs (back pressure). After each barrier it forwards, it re-reads the
/// edge's targets, so a parallelism change downstream takes effect exactly at that barrier.
final class Emitter {
    /// This worker's input slot in every target gate.
    let slot: Int
    private(set) var targets: [InputGate]
    let table: TargetTable
    let partitioning: Partitioning
    let keyGroups: KeyGroups
    let metrics: WorkerMetrics
    let clock: any StreamClock
    private var forwardTarget: Int?
    private var roundRobin = 0
    /// Called with true once a send has been blocked for `pauseAfterNs`, and with false when it went
    /// through (sources pause their reads). Short stalls are normal between stages of different speed;
    /// pausing on each would make Kafka drop and refetch its prefetched messages.
    var onBackPressure: ((Bool) -> Void)?
    var pauseAfterNs: UInt64 = 250_000_000
    /// Asked while a send is blocked: true when a barrier waits behind the current batch. The rest of the
    /// batch is then enqueued past the bound (once) so the barrier gets through a back-pressured edge.
    var barrierWaiting: (() -> Bool)?
    /// How long one wait lasts before `barrierWaiting` is asked again.
    var barrierCheckNs: UInt64 = 20_000_000
    /// Nanoseconds blocked since the counter was last read.
    private(set) var blockedNs: UInt64 = 0
    private var forcing = false

    init(
        slot: Int, table: TargetTable, after barrier: Int64, partitioning: Partitioning, keyGroups: KeyGroups,
        metrics: WorkerMetrics, clock: any StreamClock
    ) {
        self.slot = slot
        self.table = table
        self.targets = table.gates(after: barrier)
        self.partitioning = partitioning
        self.keyGroups = keyGroups
        self.metrics = metrics
        self.clock = clock
        forwardTarget = slot < targets.count ? slot : nil
    }

    func takeBlockedNs() -> UInt64 {
        defer { blockedNs = 0 }
        return blockedNs
    }

    /// Barrier `id` went out on the old targets: later rows go to the targets in force after it.
    func barrierPassed(_ id: Int64) {
        let next = table.gates(after: id)
        guard next.count != targets.count || !zip(next, targets).allSatisfy({ $0 === $1 }) else { return }
        targets = next
        forwardTarget = slot < targets.count ? slot : nil
    }

    /// Sends a batch; false when the job is shutting down.
    @discardableResult
    func send(_ batch: Batch) -> Bool {
        guard !batch.isEmpty else { return true }
        metrics.add(metrics.rowsOut, Int64(batch.count))
        forcing = false
        defer { forcing = false }
        switch partitioning {
        case .forward:
            if targets.count == 1 { return deliver(.batch(batch), to: 0) }
            let t: Int
            if let f = forwardTarget {
                t = f
            } else {
                t = roundRobin % targets.count
                roundRobin &+= 1
            }
            return deliver(.batch(batch), to: t)
        case .keyed(let key):
            return route(batch, hashes: key.hashes(batch))
        case .hashed(let hash):
            return route(batch, hashes: hash(batch))
        }
    }

    private func route(_ batch: Batch, hashes: [UInt64]) -> Bool {
        let n = targets.count
        if n == 1 { return deliver(.batch(batch), to: 0) }
        var perTarget = [[Int]](repeating: [], count: n)
        for i in 0..<batch.count {
            let g = keyGroups.keyGroup(hash: hashes[i])
            perTarget[keyGroups.worker(owning: g, parallelism: n)].append(i)
        }
        for t in 0..<n where !perTarget[t].isEmpty {
            let part = perTarget[t].count == batch.count ? batch : batch.gather(perTarget[t])
            if !deliver(.batch(part), to: t) { return false }
        }
        return true
    }

    /// Sends a control message (watermark, barrier, cancel, end) to every target.
    @discardableResult
    func broadcast(_ message: StreamMessage) -> Bool {
        for t in targets.indices where !deliver(message, to: t) { return false }
        return true
    }

    private func deliver(_ message: StreamMessage, to t: Int) -> Bool {
        let gate = targets[t]
        if forcing { return gate.forceSend(message, from: slot) }
        if gate.trySend(message, from: slot) { return true }
        // Blocked: wait in steps so the blocked time shows in the metrics while it lasts, a waiting barrier
        // is noticed, and the source pauses its reads once the wait is long.
        let start = clock.monotonicNs()
        var accounted = start
        func account() {
            let now = clock.monotonicNs()
            blockedNs &+= now &- accounted
            metrics.add(metrics.backPressuredNs, Int64(now &- accounted))
            accounted = now
        }
        var paused = false
        defer {
            account()
            if paused { onBackPressure?(false) }
        }
        while true {
            let step = barrierWaiting == nil ? min(pauseAfterNs, 50_000_000) : min(pauseAfterNs, barrierCheckNs)
            switch gate.send(message, from: slot, timeoutNs: step) {
            case .sent: return true
            case .closed: return false
            case .timedOut:
                account()
                if !paused, clock.monotonicNs() &- start >= pauseAfterNs, let pause = onBackPressure {
                    paused = true
                    pause(true)
                }
                if barrierWaiting?() == true {
                    forcing = true
                    return gate.forceSend(message, from: slot)
                }
            }
        }
    }
}
