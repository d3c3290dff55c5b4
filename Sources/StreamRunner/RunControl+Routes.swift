import Foundation
import StreamControl
import StreamCore

/// The routes that act on the running job: `GET /profile`, `POST /profile?name=NAME&reason=TEXT`,
/// `POST /savepoint?dir=DIR`.
extension RunControl {
    struct ProfileAnswer: Codable, Sendable {
        var profile: String
        var knobs: [KnobAnswer]
        var switches: [SwitchAnswer]
    }

    /// One knob of the current profile: its value and where it came from.
    struct KnobAnswer: Codable, Sendable {
        var knob: String
        var value: String
        var source: String
        var place: String?
    }

    struct SwitchAnswer: Codable, Sendable {
        var from: String
        var to: String
        var reason: String
        var changes: [String: [String]]
        var barrier: Int64
        var rescaled: [String]
        var pause_ms: Int64
        var applied_ms: Int64

        init(_ s: ProfileSwitch) {
            from = s.from
            to = s.to
            reason = s.reason
            changes = Dictionary(s.changes.map { ($0.knob, [$0.old, $0.new]) }, uniquingKeysWith: { a, _ in a })
            barrier = s.barrier
            rescaled = s.rescaled
            pause_ms = s.pauseMs
            applied_ms = s.appliedMs
        }
    }

    struct SavepointAnswer: Codable, Sendable {
        var checkpoint: Int64
        var directory: String
    }

    func register(on endpoint: ControlEndpoint) {
        let runner = self.runner
        endpoint.register("GET", "/profile") { _ in
            let current = SourcedProfile(
                profile: runner.job?.live.current ?? runner.profile, sources: runner.profileSources)
            return .json(
                ProfileAnswer(
                    profile: current.profile.name,
                    knobs: current.rows.map {
                        KnobAnswer(knob: $0.knob, value: $0.value, source: $0.source.kind, place: $0.source.place)
                    },
                    switches: runner.switches.map(SwitchAnswer.init)))
        }
        endpoint.register("POST", "/profile") { request in
            guard let name = request.query["name"], !name.isEmpty else {
                return .text("POST /profile needs ?name=PROFILE", status: 400)
            }
            let reason = request.query["reason"].map { "by hand: \($0)" } ?? "by hand"
            do throws(StreamError) {
                let next = try runner.resolveProfile(name)
                let done = try runner.switchProfile(to: next.profile, reason: reason)
                runner.recordSources(next.sources)
                return .json(SwitchAnswer(done))
            } catch {
                return .text(error.message, status: error.kind == .config ? 400 : 409)
            }
        }
        endpoint.register("POST", "/savepoint") { request in
            guard let dir = request.query["dir"], !dir.isEmpty else {
                return .text("POST /savepoint needs ?dir=DIRECTORY", status: 400)
            }
            do throws(StreamError) {
                let id = try runner.savepoint(to: dir)
                return .json(SavepointAnswer(checkpoint: id, directory: dir))
            } catch {
                return .text(error.message, status: error.kind == .config ? 400 : 409)
            }
        }
    }
}

extension JobRunner {
    /// Takes a checkpoint now and copies it, self-contained, to `directory` (a savepoint of the running
    /// job); returns its id. Waits for it at most the profile's checkpoint timeout.
    public func savepoint(to directory: String) throws(StreamError) -> Int64 {
        guard let store = checkpointStore else {
            throw StreamError(.config, "savepoints need checkpoints: add a `checkpoints:` section to the pipeline")
        }
        guard let job = runningJob() else { throw StreamError(.config, "no running job to take a savepoint of") }
        let requested = job.triggerBarrier(profile: job.live.current.name)
        let timeoutMs = job.live.current.checkpointTimeoutMs
        var waited: Int64 = 0
        // The coordinator completes it (the manifest appears) on one of its next looks. With a short interval
        // and few retained, a slow look here can find it retired already: any later checkpoint is as good.
        func taken() -> Int64? { store.ids().first { $0 >= requested } }
        while taken() == nil && waited < timeoutMs {
            if job.barriers.status(requested) == .aborted || job.isFinished { break }
            usleep(5_000)
            waited += 5
        }
        guard let id = taken() else {
            throw StreamError(
                .checkpoint,
                "checkpoint \(requested) for the savepoint did not complete (\(job.barriers.status(requested)))")
        }
        try store.exportSavepoint(id, to: directory)
        RunLog.write("savepoint: checkpoint \(id) copied to \(directory) (restore with --from-savepoint \(directory))")
        return id
    }
}
