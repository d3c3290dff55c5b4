/// Sends one worker's output to the next stage's workers, partitioned as the edge says, and accounts the
/// time spent blocked on full channels (back pressure).
final class Emitter {
    let from: Int
    let targets: [BoundedChannel<Envelope>]
    let partitioning: Partitioning
    let keyGroups: KeyGroups
    let metrics: WorkerMetrics
    let clock: any StreamClock
    private let forwardTarget: Int?
    private var roundRobin = 0
    /// Called with true once a send has been blocked for `pauseAfterNs`, and with false when it went
    /// through (sources pause their reads). Short stalls are normal between stages of different speed;
    /// pausing on each would make Kafka drop and refetch its prefetched messages.
    var onBackPressure: ((Bool) -> Void)?
    var pauseAfterNs: UInt64 = 250_000_000
    /// Nanoseconds blocked since the counter was last read.
    private(set) var blockedNs: UInt64 = 0

    init(
        from: Int, targets: [BoundedChannel<Envelope>], partitioning: Partitioning, keyGroups: KeyGroups,
        metrics: WorkerMetrics, clock: any StreamClock
    ) {
        self.from = from
        self.targets = targets
        self.partitioning = partitioning
        self.keyGroups = keyGroups
        self.metrics = metrics
        self.clock = clock
        forwardTarget = from < targets.count ? from : nil
    }

    func takeBlockedNs() -> UInt64 {
        defer { blockedNs = 0 }
        return blockedNs
    }

    /// Sends a batch; false when the job is shutting down.
    @discardableResult
    func send(_ batch: Batch) -> Bool {
        guard !batch.isEmpty else { return true }
        metrics.add(metrics.rowsOut, Int64(batch.count))
        switch partitioning {
        case .forward:
            if targets.count == 1 { return deliver(.batch(batch), to: 0) }
            let t: Int
            if let f = forwardTarget, targets.count > 1 {
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

    /// Sends a control message (watermark, barrier, end) to every target.
    @discardableResult
    func broadcast(_ message: StreamMessage) -> Bool {
        for t in targets.indices where !deliver(message, to: t) { return false }
        return true
    }

    private func deliver(_ message: StreamMessage, to t: Int) -> Bool {
        let envelope = Envelope(input: from, message: message)
        if targets[t].trySend(envelope) { return true }
        let start = clock.monotonicNs()
        var result =
            onBackPressure == nil
            ? (targets[t].send(envelope) ? .sent : .closed)
            : targets[t].send(envelope, timeoutNs: pauseAfterNs)
        if case .timedOut = result {
            onBackPressure?(true)
            result = targets[t].send(envelope) ? .sent : .closed
            onBackPressure?(false)
        }
        let waited = clock.monotonicNs() &- start
        blockedNs &+= waited
        metrics.add(metrics.backPressuredNs, Int64(waited))
        if case .sent = result { return true }
        return false
    }
}
