import Testing

@testable import StreamCore

/// What tasks record for a checkpoint after the coordinator took it (completed or failed) is handed on,
/// never left in a record nobody reads.
@Suite struct CheckpointLedgerTests {
    @Test func outputStagedForACheckpointAfterItWasTakenIsHandedOnAndItsSnapshotListedForRemoval() {
        let ledger = CheckpointLedger()
        let early = PendingOutput(staged: "/out/.part-0-0.json.inprogress", final: "/out/part-0-0.json")
        let late = PendingOutput(staged: "/out/.part-1-0.json.inprogress", final: "/out/part-1-0.json")
        ledger.update(4) { $0.pending.append(early) }
        // The coordinator gives checkpoint 4 up (another task declined it) ...
        #expect(ledger.take(4).pending == [early])
        // ... then a sink that had already aligned barrier 4 stages its parts for it, and a stateful worker
        // that arrived last takes its snapshot.
        ledger.update(4) { $0.pending.append(late) }
        ledger.update(4) { r in
            r.stateFiles = ["CURRENT"]
            r.stateDirectory = "/checkpoints/.staging/4"
        }
        #expect(ledger.take(4).pending.isEmpty)
        let handed = ledger.takeLate()
        #expect(handed.pending == [late])
        #expect(handed.stateDirectories == ["/checkpoints/.staging/4"])
        #expect(ledger.takeLate().pending.isEmpty)
        // Checkpoints not yet taken keep their records.
        ledger.update(5) { $0.pending.append(late) }
        #expect(ledger.takeLate().pending.isEmpty)
        #expect(ledger.take(5).pending == [late])
    }

    @Test func outputASinkStagedWhenItsInputEndedIsKeptApartForTheLastManifest() {
        let ledger = CheckpointLedger()
        let part = PendingOutput(staged: "/out/.part-0-3.json.inprogress", final: "/out/part-0-3.json")
        ledger.recordEnded([part])
        #expect(ledger.take(7).pending.isEmpty)
        #expect(ledger.takeEnded() == [part])
        #expect(ledger.takeEnded().isEmpty)
    }
}
