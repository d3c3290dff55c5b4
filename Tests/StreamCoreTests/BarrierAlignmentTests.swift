import Testing

@testable import StreamCore

/// The alignment state machine, scripted as Flink's `AlignedCheckpointsTest` scripts its channels:
/// barriers, cancel markers and ends in a fixed order, and the actions expected after each.
@Suite struct BarrierAlignmentTests {
    func b(_ id: Int64, _ input: Int) -> BarrierAlignment.Event { .barrier(Barrier(id: id), input: input) }

    @Test func inputThatSentItsBarrierIsBlockedUntilEveryInputHas() {
        var align = BarrierAlignment(inputs: 2)
        #expect(align.on(b(1, 0)) == [.block(input: 0)])
        #expect(align.isBlocked(0))
        #expect(!align.isBlocked(1))
        #expect(align.on(b(1, 1)) == [.block(input: 1), .snapshot(Barrier(id: 1), unblock: [0, 1])])
        #expect(!align.isBlocked(0) && !align.isBlocked(1))
        #expect(!align.isAligning)
    }

    @Test func multiChannelWithEndOfPartitionCountsTheEndedInputAsAligned() {
        var align = BarrierAlignment(inputs: 3)
        #expect(align.on(b(1, 0)) == [.block(input: 0)])
        // Input 1 ends mid-alignment: the barrier no longer waits for it.
        #expect(align.on(.end(input: 1)) == [])
        #expect(align.on(b(1, 2)) == [.block(input: 2), .snapshot(Barrier(id: 1), unblock: [0, 2])])
        // Later barriers never wait for the ended input either.
        #expect(align.on(b(2, 0)) == [.block(input: 0)])
        #expect(align.on(.end(input: 2)) == [.snapshot(Barrier(id: 2), unblock: [0])])
    }

    @Test func anInputEndingLastCompletesTheAlignment() {
        var align = BarrierAlignment(inputs: 2)
        _ = align.on(b(3, 0))
        #expect(align.on(.end(input: 1)) == [.snapshot(Barrier(id: 3), unblock: [0])])
    }

    @Test func startingWithClosedInputsAlignsOnTheLiveOnesOnly() {
        var align = BarrierAlignment(inputs: 3)
        _ = align.on(.end(input: 0))
        _ = align.on(.end(input: 2))
        #expect(align.on(b(1, 1)) == [.block(input: 1), .snapshot(Barrier(id: 1), unblock: [1])])
    }

    @Test func jumpingOverACheckpointAbortsItAndAlignsTheNewerOne() {
        var align = BarrierAlignment(inputs: 3)
        #expect(align.on(b(2, 0)) == [.block(input: 0)])
        #expect(align.on(b(2, 1)) == [.block(input: 1)])
        // Barrier 3 arrives on input 2 before its barrier 2: checkpoint 2 cannot complete.
        #expect(align.on(b(3, 2)) == [.abort(id: 2, unblock: [0, 1]), .block(input: 2)])
        #expect(align.pending?.id == 3)
        // Barrier 2 of input 2 never comes (it was overtaken); barrier 3 of the others completes 3.
        #expect(align.on(b(3, 0)) == [.block(input: 0)])
        #expect(align.on(b(3, 1)) == [.block(input: 1), .snapshot(Barrier(id: 3), unblock: [0, 1, 2])])
    }

    @Test func aStaleBarrierIsIgnored() {
        var align = BarrierAlignment(inputs: 2)
        _ = align.on(b(2, 0))
        _ = align.on(b(3, 1))  // aborts 2, aligns 3
        // Barrier 2 of input 1 was overtaken; input 0's barrier 2 arrives late on another path: stale.
        #expect(align.on(b(2, 1)) == [])
        #expect(align.pending?.id == 3)
        #expect(align.on(b(3, 0)) == [.block(input: 0), .snapshot(Barrier(id: 3), unblock: [0, 1])])
        // A completed checkpoint's barrier is stale too, and an older one never moves `pending` backwards.
        #expect(align.on(b(3, 1)) == [])
        #expect(align.on(b(1, 0)) == [])
        #expect(align.pending == nil)
        #expect(align.latest == 3)
    }

    @Test func aCancelMarkerMidAlignmentAbortsAndUnblocks() {
        var align = BarrierAlignment(inputs: 3)
        _ = align.on(b(1, 0))
        _ = align.on(b(1, 2))
        #expect(align.on(.cancel(id: 1, input: 1)) == [.abort(id: 1, unblock: [0, 2])])
        #expect(!align.isAligning)
        // Barriers of the cancelled checkpoint that still arrive are stale.
        #expect(align.on(b(1, 1)) == [])
        #expect(align.on(b(2, 1)) == [.block(input: 1)])
    }

    @Test func aCancelMarkerForACheckpointNotYetSeenMakesItsBarriersStale() {
        var align = BarrierAlignment(inputs: 2)
        #expect(align.on(.cancel(id: 5, input: 0)) == [.abort(id: 5, unblock: [])])
        #expect(align.on(b(5, 1)) == [])
        // A second cancel for the same checkpoint from the other input does nothing more.
        #expect(align.on(.cancel(id: 5, input: 1)) == [])
    }

    @Test func theBarrierKeepsItsProfileThroughAnEndingInput() {
        var align = BarrierAlignment(inputs: 2)
        let switching = Barrier(id: 7, profile: "steady")
        _ = align.on(.barrier(switching, input: 0))
        #expect(align.on(.end(input: 1)) == [.snapshot(switching, unblock: [0])])
    }

    @Test func anInputJoinedAtARescaleBarrierStaysBlockedUntilThatBarrierCompletes() {
        var align = BarrierAlignment(inputs: 2)
        let joined = align.addInput(joinedAt: 4)
        #expect(joined == 2)
        #expect(align.isBlocked(2))
        _ = align.on(b(4, 0))
        // The joined input counts as aligned for barrier 4 and is released with it.
        #expect(align.on(b(4, 1)) == [.block(input: 1), .snapshot(Barrier(id: 4), unblock: [0, 1, 2])])
        #expect(!align.isBlocked(2))
        // From now on it is an input like the others.
        _ = align.on(b(5, 2))
        #expect(align.isAligning)
    }
}

extension BarrierAlignmentTests {
    @Test func joinedInputsAreReleasedWhenEveryOtherInputEndedBeforeTheirBarrier() {
        var align = BarrierAlignment(inputs: 2)
        _ = align.addInput(joinedAt: 6)
        #expect(align.isBlocked(2))
        #expect(align.on(.end(input: 0)) == [])
        // Barrier 6 can no longer come: the joined input is read again (to its end).
        #expect(align.on(.end(input: 1)) == [.abort(id: 6, unblock: [2])])
        #expect(!align.isBlocked(2))
    }
}

/// The input gate under alignment: a blocked input is not read, its later messages keep their order, and
/// its sender blocks once its own queue is full while the other inputs flow.
@Suite struct InputGateTests {
    func batch(_ v: Int64) -> Batch {
        var b = Batch(schema: Schema([Field("v", .int64)]), capacity: 1)
        b.columns[0].int64s.append(v)
        b.columns[0].markLastValid()
        return b
    }

    func value(_ e: Envelope?) -> Int64? {
        if case .batch(let b) = e?.message { return b.columns[0].int64s[0] }
        return nil
    }

    @Test func aBlockedInputIsNotReadAndKeepsItsOrder() {
        let gate = InputGate(inputs: 2, capacity: 4)
        #expect(gate.trySend(.batch(batch(1)), from: 0))
        #expect(gate.trySend(.batch(batch(2)), from: 0))
        #expect(gate.trySend(.batch(batch(10)), from: 1))
        gate.setReadable(0, false)
        #expect(value(gate.receive(timeoutNs: 0)) == 10)
        #expect(gate.receive(timeoutNs: 1_000_000) == nil)
        gate.setReadable(0, true)
        #expect(value(gate.receive(timeoutNs: 0)) == 1)
        #expect(value(gate.receive(timeoutNs: 0)) == 2)
    }

    @Test func aBlockedInputBackPressuresOnlyItsOwnSender() {
        let gate = InputGate(inputs: 2, capacity: 2)
        gate.setReadable(0, false)
        #expect(gate.trySend(.batch(batch(1)), from: 0))
        #expect(gate.trySend(.batch(batch(2)), from: 0))
        // Input 0 is full: its sender would block; input 1 still has room.
        #expect(!gate.trySend(.batch(batch(3)), from: 0))
        #expect(gate.trySend(.batch(batch(4)), from: 1))
        // Memory while aligning stays within capacity × inputs.
        #expect(gate.fill <= gate.capacity * gate.inputs)
        // A barrier is never refused by a full queue, and keeps its place behind the batches.
        #expect(gate.trySend(.barrier(Barrier(id: 1)), from: 0))
        gate.setReadable(0, true)
        var seen: [String] = []
        while let e = gate.receive(timeoutNs: 0) {
            if case .barrier = e.message { seen.append("\(e.input):b") } else { seen.append("\(e.input):\(value(e)!)") }
        }
        #expect(seen.filter { $0.hasPrefix("0:") } == ["0:1", "0:2", "0:b"])
    }

    @Test func aLargerCapacityLetsAWaitingSenderIn() {
        let gate = InputGate(inputs: 1, capacity: 1)
        #expect(gate.trySend(.batch(batch(1)), from: 0))
        #expect(!gate.trySend(.batch(batch(2)), from: 0))
        gate.setCapacity(2)
        #expect(gate.trySend(.batch(batch(2)), from: 0))
    }
}
