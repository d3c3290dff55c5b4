import Foundation
import StreamControl
import StreamCore
import StreamOps

#if canImport(Glibc)
    import Glibc
#endif

/// The runner's side of the control endpoint: serves `JobRunner.snapshot()` with the process's memory, writes
/// `<state.dir>/control.json` for the commands that look for the job, and writes heap profiles (on request
/// and every `--heap-profile-interval`).
public final class RunControl: ControlSource, @unchecked Sendable {
    let runner: JobRunner
    let startedAtMs: Int64
    let heapProfiles: HeapProfiles?
    // Set once in start(), read by the supervisor thread afterwards.
    private(set) var endpoint: ControlEndpoint?
    private var wroteFile = false

    public init(runner: JobRunner, heapProfiles: HeapProfiles? = nil) {
        self.runner = runner
        self.heapProfiles = heapProfiles
        startedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// Starts the endpoint on `address` (nil: none) and announces it in the log and in `control.json`.
    public func start(address: ControlAddress?) throws(ControlError) {
        heapProfiles?.start()
        guard let address else { return }
        if !address.isLoopback {
            RunLog.write(
                "warning: the control endpoint listens on \(address.host), reachable from other machines; "
                    + "it has no authentication")
        }
        let endpoint = ControlEndpoint(source: self, address: address)
        register(on: endpoint)
        let url = try endpoint.start()
        self.endpoint = endpoint
        RunLog.write("control endpoint at \(url) (/status, /metrics, /profile, /savepoint)")
        let dir = runner.spec.state.dir
        do throws(StreamError) { try Directories.create(dir) } catch {
            RunLog.write("warning: \(error.message): `streamctl status` will not find this job")
            return
        }
        do throws(ControlError) {
            try ControlFile(url: url, pid: getpid(), pipeline: runner.spec.name, startedAtMs: startedAtMs)
                .write(stateDir: dir)
            wroteFile = true
        } catch {
            RunLog.write("warning: \(error.message): `streamctl status` will not find this job")
        }
    }

    /// The endpoint's URL once started.
    public var url: String? { endpoint?.url }

    /// Called by the supervisor every tick: the periodic heap profile.
    public func tick() { heapProfiles?.tick() }

    /// Stops the endpoint and removes `control.json`.
    public func stop() {
        endpoint?.stop()
        if wroteFile { ControlFile.remove(stateDir: runner.spec.state.dir) }
    }

    public func controlSnapshot() -> ControlSnapshot {
        let job = runner.job
        let jobSnapshot = job?.snapshot() ?? JobSnapshot(takenAtNs: runner.clock.monotonicNs(), workers: [], state: [:])
        let stages = runner.assembly?.plan.stages.map { (id: $0.id, parallelism: $0.parallelism) } ?? []
        let jm = JemallocStats.snapshot()
        let memory = MemoryFigures(
            allocatedBytes: jm?.allocated, activeBytes: jm?.active, residentBytes: jm?.resident, mappedBytes: jm?.mapped,
            processResidentBytes: ProcessMemory.residentBytes(),
            budgetBytes: runner.spec.state.backend == .rocksdb ? Int(runner.spec.state.memoryBytes) : nil)
        // The current profile is the last switch's target, else the one the run started with.
        let switches = runner.switches
        var snapshot = ControlSnapshot(
            pipeline: runner.spec.name, profile: switches.last?.to ?? runner.profile.name, pid: getpid(),
            startedAtMs: startedAtMs, running: !(job?.isFinished ?? true), job: jobSnapshot, stages: stages,
            memory: memory, profileSwitches: switches.count)
        snapshot.lastSwitch = switches.last.map {
            SwitchFigures(from: $0.from, to: $0.to, reason: $0.reason, pauseMs: $0.pauseMs, appliedMs: $0.appliedMs)
        }
        snapshot.partitions = PartitionFigures.of(jobSnapshot, source: runner.spec.source.kind)
        snapshot.checkpoints = runner.checkpointStats.map {
            CheckpointFigures(
                completed: $0.completed, failed: $0.failed, aborted: $0.aborted, lastId: $0.lastId,
                lastDurationMs: $0.lastDurationMs, lastPauseMs: $0.lastPauseMs, lastSizeBytes: $0.lastSizeBytes,
                lastCopiedBytes: $0.lastBytesCopied, restoredFrom: $0.restoredFrom)
        }
        switch runner.spec.source.onBadRecord {
        case .fail: break
        case .skip: snapshot.badRecords = BadRecordFigures(policy: "skip", byReason: job?.badRecordsByReason ?? [:])
        case .deadLetter:
            snapshot.badRecords = BadRecordFigures(policy: "dead_letter", byReason: job?.badRecordsByReason ?? [:])
        }
        return snapshot
    }

    public func dumpHeapProfile() throws(ControlError) -> String {
        guard let heapProfiles else {
            throw ControlError(status: 409, message: "heap profiles are off: start the run with --heap-profile-dir DIR")
        }
        return try heapProfiles.dump(reason: "request")
    }
}
