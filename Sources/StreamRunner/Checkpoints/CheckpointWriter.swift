import Foundation
import StreamCore
import Synchronization

/// What a completed barrier leaves for the writer: where its state snapshot was staged, what the manifest says
/// besides the state files, and the output its manifest covers.
struct CheckpointWrite: Sendable {
    var id: Int64
    var startedNs: UInt64
    var alignMs: Int64
    var pauseMs: Int64
    var profile: String
    var incremental: Bool
    var stagingDirectory: String?
    var stateFiles: [String]?
    var progress: RestoredProgress
    var pending: [PendingOutput]
    var retain: Int
    /// The last manifest of a job whose input ended: no state, `finished`.
    var finished = false
}

/// How a write ended.
enum CheckpointWriteResult: Sendable {
    /// The manifest is durable, the output published, old checkpoints retired.
    case written(CheckpointManifest)
    /// It failed: `manifestWritten` says whether the checkpoint exists all the same (a failure publishing or
    /// retiring after the manifest); the output may be unpublished either way.
    case failed(reason: String, manifestWritten: Bool)
}

/// Writes checkpoints on a thread of its own, one at a time: copies the staged state files, writes the
/// manifest, publishes the sinks' output and retires old checkpoints. The runner's supervisor only hands a
/// write over and looks for its end, so a checkpoint directory that stops answering (a hung mount) holds up
/// that write alone: the timeout still fires, stop requests and the control endpoint still answer.
final class CheckpointWriter: Sendable {
    private struct State {
        var queued: CheckpointWrite?
        var result: (id: Int64, result: CheckpointWriteResult)?
        var busy = false
        var closed = false
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let store: CheckpointStore
    private let sink: any SinkConnector
    private let pipeline: String
    private let backend: String
    private let clock: any StreamClock
    /// CRC32C of SST files already checked, by name, size and inode: touched by the writer thread only.
    private let crcCache = Mutex<[String: UInt32]>([:])

    init(store: CheckpointStore, sink: any SinkConnector, pipeline: String, backend: String, clock: any StreamClock) {
        self.store = store
        self.sink = sink
        self.pipeline = pipeline
        self.backend = backend
        self.clock = clock
        let thread = Thread { [self] in loop() }
        thread.name = "checkpoint-writer"
        thread.start()
    }

    /// A write is handed over and has not ended (or its end was not taken yet).
    var isBusy: Bool { state.withLock { $0.busy } }

    /// Hands `write` over; the writer must not be busy.
    func start(_ write: CheckpointWrite) {
        state.withLock { s in
            precondition(!s.busy, "one checkpoint write at a time")
            s.busy = true
            s.queued = write
        }
        wake.signal()
    }

    /// The end of the write handed over, once it ended; the writer is free again after this.
    func takeResult() -> (id: Int64, result: CheckpointWriteResult)? {
        state.withLock { s in
            guard let r = s.result else { return nil }
            s.result = nil
            s.busy = false
            return r
        }
    }

    /// Ends the thread once the write in hand (if any) ended. A write stuck in the file system keeps its thread.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }

    private func loop() {
        while true {
            let next = state.withLock { s -> CheckpointWrite?? in
                if let q = s.queued {
                    s.queued = nil
                    return .some(q)
                }
                return s.closed ? .none : .some(nil)
            }
            guard let item = next else { return }
            guard let write = item else {
                wake.wait()
                continue
            }
            let result = perform(write)
            state.withLock { $0.result = (write.id, result) }
        }
    }

    private func perform(_ w: CheckpointWrite) -> CheckpointWriteResult {
        var manifestWritten = false
        do throws(StreamError) {
            let copyStart = clock.monotonicNs()
            var files: [CheckpointManifest.StateFile] = []
            var copied: Int64 = 0
            if let names = w.stateFiles, let dir = w.stagingDirectory {
                (files, copied) = try crcCache.withLock { cache throws(StreamError) in
                    try store.copyState(from: dir, files: names, id: w.id, incremental: w.incremental, crcCache: &cache)
                }
                try? FileManager.default.removeItem(atPath: dir)
            }
            let copyMs = Int64((clock.monotonicNs() &- copyStart) / 1_000_000)
            let manifest = CheckpointManifest(
                version: CheckpointManifest.currentVersion, id: w.id, pipeline: pipeline, profile: w.profile,
                createdAtMs: clock.nowMs(), finished: w.finished, savepoint: false, incremental: w.incremental,
                backend: backend, progress: w.progress, state: files, pending: w.pending,
                durations: w.finished
                    ? .init(alignMs: 0, pauseMs: 0, copyMs: 0, totalMs: 0)
                    : .init(
                        alignMs: w.alignMs, pauseMs: w.pauseMs, copyMs: copyMs,
                        totalMs: Int64((clock.monotonicNs() &- w.startedNs) / 1_000_000)),
                bytesCopied: copied)
            try store.write(manifest)
            // From here on the checkpoint exists: publishing its output may be repeated by a restore, never lost.
            manifestWritten = true
            try sink.commit(w.pending)
            try store.retire(retain: w.retain)
            return .written(manifest)
        } catch {
            return .failed(reason: error.message, manifestWritten: manifestWritten)
        }
    }
}
