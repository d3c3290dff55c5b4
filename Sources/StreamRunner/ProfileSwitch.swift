import StreamCore

#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// One profile switch of a running job: what changed, why, and what it cost.
public struct ProfileSwitch: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var knob: String
        public var old: String
        public var new: String
    }
    public var from: String
    public var to: String
    public var reason: String
    public var changes: [Change]
    /// The one barrier the whole switch applied at.
    public var barrier: Int64
    /// The operators whose parallelism changed at that barrier.
    public var rescaled: [String]
    /// How long rows stopped flowing through the rescaled stages (stop-the-world), milliseconds.
    public var pauseMs: Int64
    /// From the request to the barrier completed, milliseconds.
    public var appliedMs: Int64

    /// The log line.
    public var description: String {
        let what = changes.isEmpty ? "no knob changed" : changes.map { "\($0.knob) \($0.old) → \($0.new)" }
            .joined(separator: ", ")
        let rescale = rescaled.isEmpty ? "" : ", rescaling \(rescaled.joined(separator: ", "))"
        return "profile: \(from) → \(to) (\(reason)): \(what); at barrier \(barrier)\(rescale), applied in "
            + "\(appliedMs) ms, rows stopped for \(pauseMs) ms"
    }
}

extension JobRunner {
    /// Switches the running job to `profile`. Knobs that need no barrier (batch size, flush latency, channel
    /// bound, sink throttle, checkpoint timing — a checkpoint in flight takes the new timeout — watermark
    /// alignment; the Kafka fetch and producer settings, by reopening the consumer or producer) apply at once.
    /// Then one barrier carries the profile's name and every operator's parallelism change: all of them take
    /// their new layout at that one cut (key-group ranges move, no state). With checkpoints on the barrier is
    /// a checkpoint, so the manifest says which profile it was taken under.
    @discardableResult
    public func switchProfile(to profile: Profile, reason: String) throws(StreamError) -> ProfileSwitch {
        guard let job = runningJob() else { throw StreamError(.config, "no running job to switch") }
        let started = clock.monotonicNs()
        let old = job.live.current
        let before = Dictionary(old.knobs.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let changes = profile.knobs.compactMap { k -> ProfileSwitch.Change? in
            before[k.name] == k.value ? nil : .init(knob: k.name, old: before[k.name] ?? "", new: k.value)
        }
        var rescaled: [ParallelismChange] = []
        for (i, stage) in job.plan.stages.enumerated() {
            guard case .transform = stage.kind, i > 0 else { continue }
            let pinned = spec.operators.first { $0.id == stage.id }?.parallelism
            let target = profile.parallelism(of: stage.id, pinned: pinned)
            guard let now = job.parallelism(of: stage.id), now != target else { continue }
            rescaled.append(ParallelismChange(stage: stage.id, parallelism: target))
        }
        job.updateProfile(profile)
        let n = try job.rescale(rescaled, profile: profile.name)
        let status = job.barriers.wait(for: n, timeoutMs: Int(profile.checkpointTimeoutMs)) { job.isFinished }
        if !rescaled.isEmpty, status != .completed {
            let stages = rescaled.map { "`\($0.stage)`" }.joined(separator: ", ")
            throw StreamError(
                .checkpoint, "switching to \(profile.name): the barrier rescaling \(stages) did not complete (\(status))")
        }
        let pauseNs = rescaled.isEmpty ? 0 : job.rescalePauseNs(barrier: n) ?? 0
        let record = ProfileSwitch(
            from: old.name, to: profile.name, reason: reason, changes: changes, barrier: n,
            rescaled: rescaled.map(\.stage), pauseMs: Int64(pauseNs / 1_000_000),
            appliedMs: Int64((clock.monotonicNs() &- started) / 1_000_000))
        recordSwitch(record)
        RunLog.write(record.description)
        return record
    }
}
