/// A worker's inputs read through barrier alignment and per-input watermarks: turns what the gate
/// delivers into what the worker acts on. Blocked inputs are simply not read (the gate holds their
/// messages in order, and their senders block once the queue is full).
struct AlignedInput {
    enum Event {
        case batch(Batch)
        /// The combined watermark advanced.
        case watermark(Int64)
        /// Every live input delivered this barrier.
        case snapshot(Barrier)
        /// This checkpoint will not complete here.
        case abort(Int64)
        /// Every input ended.
        case ended
    }

    let gate: InputGate
    private(set) var alignment: BarrierAlignment
    private(set) var watermarks: InputWatermarks
    private var ended: Set<Int> = []
    private var queued: [Event] = []
    private var joinsSeen = 0
    private let joins: GateJoins
    /// True once the job stops at a final barrier: an input ending then must not move the watermark, or
    /// windows would fire after the final checkpoint (and again after the restore).
    var suspended: @Sendable () -> Bool = { false }

    init(gate: InputGate, joins: GateJoins, alignment: BarrierAlignment, watermarks: InputWatermarks, ended: Set<Int>) {
        self.gate = gate
        self.joins = joins
        self.alignment = alignment
        self.watermarks = watermarks
        for i in ended {
            self.ended.insert(i)
            _ = self.alignment.on(.end(input: i))
            _ = self.watermarks.end(input: i)
        }
        joinsSeen = 0
        adoptJoins()
    }

    var allEnded: Bool { ended.count == alignment.inputs }

    /// The next event; nil when the gate closed (the job is failing).
    mutating func next() -> Event? {
        while true {
            if !queued.isEmpty { return queued.removeFirst() }
            guard let envelope = gate.receive() else { return nil }
            adoptJoins()
            let input = envelope.input
            switch envelope.message {
            case .batch(let batch):
                return .batch(batch)
            case .watermark(let wm):
                if let advanced = watermarks.update(input: input, watermark: wm) { return .watermark(advanced) }
            case .barrier(let barrier):
                apply(alignment.on(.barrier(barrier, input: input)))
            case .cancel(let id):
                apply(alignment.on(.cancel(id: id, input: input)))
            case .end:
                ended.insert(input)
                let actions = alignment.on(.end(input: input))
                if let advanced = watermarks.end(input: input), !allEnded, !suspended() {
                    queued.append(.watermark(advanced))
                }
                apply(actions)
                if allEnded { queued.append(.ended) }
            }
        }
    }

    private mutating func apply(_ actions: [BarrierAlignment.Action]) {
        for action in actions {
            switch action {
            case .block(let input):
                gate.setReadable(input, false)
            case .snapshot(let barrier, let unblock):
                queued.append(.snapshot(barrier))
                for i in unblock { gate.setReadable(i, true) }
            case .abort(let id, let unblock):
                queued.append(.abort(id))
                for i in unblock { gate.setReadable(i, true) }
            }
        }
    }

    /// Inputs added to the gate at a rescale barrier join the alignment and watermarks here.
    private mutating func adoptJoins() {
        guard joins.count != joinsSeen else { return }
        for (slot, barrier) in joins.since(joinsSeen) {
            while alignment.inputs <= slot {
                let i = alignment.addInput(joinedAt: barrier)
                _ = watermarks.addInput()
                if !alignment.isBlocked(i) { gate.setReadable(i, true) }
            }
        }
        joinsSeen = joins.count
    }
}

import Synchronization

/// Inputs added to one gate at rescale barriers, for its worker to adopt: (slot, barrier). The gate holds
/// a joined slot unreadable until its worker has passed the barrier.
final class GateJoins: Sendable {
    private let list = Mutex<[(slot: Int, barrier: Int64)]>([])
    private let size = Atomic<Int>(0)

    var count: Int { size.load(ordering: .acquiring) }

    func add(slot: Int, barrier: Int64) {
        list.withLock { $0.append((slot, barrier)) }
        size.add(1, ordering: .releasing)
    }

    func since(_ n: Int) -> [(slot: Int, barrier: Int64)] { list.withLock { Array($0[n...]) } }
}
