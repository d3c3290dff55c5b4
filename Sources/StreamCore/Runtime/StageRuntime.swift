#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// The workers of one stage as they stand now: their input gates and metrics. Parallelism changes at a
/// barrier replace the layout; metrics of retired workers stay, so totals still add up.
final class StageRuntime: Sendable {
    struct Layout {
        var gates: [InputGate]
        /// Input slots every gate of this stage has (one per upstream worker ever started).
        var inputSlots: Int
        /// Slots whose upstream worker retired: ended in every gate.
        var retiredSlots: Set<Int> = []
        /// Input slots of the next stage's gates, by this stage's current worker index.
        var outputSlots: [Int]
        /// Gates of retired workers (closed with the others when the job fails).
        var retiredGates: [InputGate] = []
    }

    let index: Int
    let plan: StagePlan
    let layout: Mutex<Layout>
    let metrics = Mutex<[WorkerMetrics]>([])
    /// Where the edge into this stage sends rows after each barrier.
    let targets: TargetTable

    init(index: Int, plan: StagePlan, gates: [InputGate], inputSlots: Int) {
        self.index = index
        self.plan = plan
        layout = Mutex(
            Layout(gates: gates, inputSlots: inputSlots, outputSlots: Array(0..<plan.parallelism)))
        targets = TargetTable(initial: gates)
    }

    var parallelism: Int { layout.withLock { $0.gates.count } }
}

/// The targets of an edge, as they change at rescale barriers: an emitter re-reads them after each barrier
/// it forwards, so rows before barrier n go to the old workers and rows after it to the new ones.
final class TargetTable: Sendable {
    private let changes: Mutex<[(after: Int64, gates: [InputGate])]>

    init(initial: [InputGate]) { changes = Mutex([(after: .min, gates: initial)]) }

    func add(after barrier: Int64, gates: [InputGate]) {
        changes.withLock { $0.append((after: barrier, gates: gates)) }
    }

    /// The targets in force once barrier `id` has passed.
    func gates(after id: Int64) -> [InputGate] {
        changes.withLock { list in list.last { $0.after <= id }!.gates }
    }
}

/// One parallelism change of a stage at barrier `barrier`: the old workers meet here once each has aligned
/// the barrier (so no worker reads state another still writes), then take their new key-group ranges;
/// new workers wait here before they read anything. The time from the barrier's injection to the meeting
/// is the change's pause.
final class Rescale: Sendable {
    let barrier: Int64
    let stage: Int
    let oldParallelism: Int
    let newParallelism: Int
    private struct State {
        var arrived = 0
        var carried: InputWatermarks?
        var metWatermark: Int64 = .min
        var metAtNs: UInt64 = 0
        var abandoned = false
    }
    private let state = Mutex(State())
    let injectedAtNs: UInt64

    init(barrier: Int64, stage: Int, from old: Int, to new: Int, injectedAtNs: UInt64) {
        self.barrier = barrier
        self.stage = stage
        oldParallelism = old
        newParallelism = new
        self.injectedAtNs = injectedAtNs
    }

    /// An old worker aligned the barrier; waits for the others. False when the job failed meanwhile.
    func arrive(watermarks: InputWatermarks, nowNs: @Sendable () -> UInt64, failed: () -> Bool) -> Bool {
        state.withLock { s in
            s.arrived += 1
            if s.carried == nil { s.carried = watermarks }
            if s.arrived == oldParallelism { s.metAtNs = nowNs() }
        }
        return awaitMeeting(failed: failed) != nil
    }

    /// What a new worker starts from, once every old worker arrived; nil when the job failed meanwhile or
    /// the change was abandoned.
    func awaitMeeting(failed: () -> Bool) -> InputWatermarks? {
        while true {
            let (met, abandoned) = state.withLock { s in (s.arrived >= oldParallelism ? s.carried : nil, s.abandoned) }
            if let met { return met }
            if abandoned || failed() { return nil }
            usleep(200)
        }
    }

    /// The barrier will never be aligned (the old workers' input ended before it).
    func abandon() { state.withLock { s in if s.arrived < oldParallelism { s.abandoned = true } } }

    /// Nanoseconds from injection to the meeting, once it happened.
    var pauseNs: UInt64? {
        state.withLock { s in s.arrived >= oldParallelism ? s.metAtNs &- injectedAtNs : nil }
    }
}
