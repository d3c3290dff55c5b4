import Testing

@testable import StreamCore

/// The window operator's per-row path: the scratch state-key encoding and the open-addressing buffer.
@Suite struct WindowBufferTests {
    private func mixedBatch() -> Batch {
        var s = Column(strings: ["shop-1", "", "a much longer shop name that needs a bigger scratch buffer than 64", "x"])
        s.appendNull()
        var i = Column(int64s: [7, -3, Int64.max, Int64.min])
        i.appendNull()
        var d = Column(doubles: [1.5, -0.0, .infinity, 3])
        d.appendNull()
        var b = Column(bools: [true, false, true, false])
        b.appendNull()
        let schema = Schema([Field("s", .string), Field("i", .int64), Field("d", .double), Field("b", .bool)])
        return Batch(schema: schema, columns: [s, i, d, b])
    }

    @Test func theScratchEncodingIsTheStateKeyLayoutForEveryTypeAndNull() {
        let batch = mixedBatch()
        let key = KeyColumns(indices: [0, 1, 2, 3], schema: batch.schema)
        var scratch = StateKeyScratch()
        for row in 0..<batch.count {
            for (group, ns) in [(0, Int64(0)), (127, Int64(-3_600_000)), (65_535, Int64.max)] {
                var expected: [UInt8] = []
                StateKey.appendPrefix(keyGroup: group, namespace: ns, &expected)
                key.encode(batch, row: row, into: &expected)
                scratch.encode(keyGroup: group, namespace: ns, batch, row: row, key: key)
                #expect(scratch.withBytes { Array($0) } == expected, "row \(row) group \(group)")
            }
        }
    }

    @Test func entriesAreFoundUntilTheirWindowIsTakenAndOthersSurviveTheRemoval() {
        var buffer = WindowBuffer(capacityBytes: 1 << 30, aggregateCount: 1)
        // Enough keys to grow the index several times and to make long probe runs.
        var keys: [[UInt8]] = []
        for n in 0..<5_000 {
            var k: [UInt8] = []
            StateKey.appendPrefix(keyGroup: n % 7, namespace: Int64(n % 3) * 1000, &k)
            k.append(contentsOf: Array("key-\(n)".utf8))
            keys.append(k)
        }
        for (n, k) in keys.enumerated() {
            let id = k.withUnsafeBytes { buffer.insert($0, hash: WindowBuffer.hash($0), end: Int64(n % 3) * 1000, firedWindow: false) }
            buffer.accumulators[Int(id)].count = Int64(n)
            buffer.markDirty(id)
        }
        #expect(buffer.count == 5_000)
        let taken = buffer.take(end: 1000)
        #expect(taken.count == keys.indices.filter { $0 % 3 == 1 }.count)
        #expect(Set(taken.map(\.key)) == Set(keys.indices.filter { $0 % 3 == 1 }.map { keys[$0] }))
        #expect(taken.allSatisfy { $0.dirty && !$0.stored })
        for (n, k) in keys.enumerated() {
            let held = buffer.accumulators(ofKey: k)
            if n % 3 == 1 {
                #expect(held == nil)
            } else {
                #expect(held?.first?.count == Int64(n))
            }
        }
        // Freed ids are reused, and what is found is the new entry.
        let k = keys[1]
        let id = k.withUnsafeBytes { buffer.insert($0, hash: WindowBuffer.hash($0), end: 1000, firedWindow: true) }
        #expect(buffer.isFiredWindow(id))
        #expect(buffer.accumulators(ofKey: k) == [Accumulator()])
        #expect(buffer.count == 5_000 - taken.count + 1)
    }

    @Test func aFlushWritesDirtyEntriesOnceAndMarksThemStored() {
        var buffer = WindowBuffer(capacityBytes: 1 << 30, aggregateCount: 1)
        var k: [UInt8] = []
        StateKey.appendPrefix(keyGroup: 3, namespace: 60_000, &k)
        k.append(9)
        let id = k.withUnsafeBytes { buffer.insert($0, hash: WindowBuffer.hash($0), end: 60_000, firedWindow: false) }
        buffer.markDirty(id)
        var first = StateWriteBatch()
        buffer.flush(into: &first, drop: false)
        #expect(first.operations.count == 1)
        var second = StateWriteBatch()
        buffer.flush(into: &second, drop: false)
        #expect(second.operations.isEmpty)
        #expect(buffer.mayBeStored(end: 60_000, keyGroup: 3))
        #expect(buffer.take(end: 60_000).map(\.stored) == [true])
    }
}
