import StreamControl
import StreamCore
import StreamKafka
import StreamPipeline

#if canImport(Glibc)
    import Glibc
#endif

/// What `streamctl run` was asked, as parsed values: the command line fills it, `RunSession` checks it.
public struct RunRequest: Sendable {
    public var file: String
    public var profile: String?
    public var until: String?
    public var maxRecords: Int?
    public var maxDuration: String?
    public var parallelism: Int?
    public var generate: Int?
    public var load: String?
    public var loadKey: String?
    /// nil when `--partitions` was not given.
    public var partitions: Int?
    /// `--progress`: on a terminal the line in place, on a pipe a log line every `progressInterval`.
    public var progress: ProgressMode
    /// `--progress-interval`, as given; checked with the other flags.
    public var progressInterval: String?
    public var summaryFile: String?
    public var leftovers: LeftoverPolicy
    /// `--instance I/N`: this process's share of a Kafka topic's partitions.
    public var instance: String?
    /// `--http ADDRESS`: serve the control endpoint there (see `ControlAddress`).
    public var http: String?
    /// `--heap-profile-dir` and `--heap-profile-interval`.
    public var heapProfileDir: String?
    public var heapProfileInterval: String?
    /// `--savepoint-on-exit DIR`: a self-contained copy of the final checkpoint.
    public var savepointOnExit: String?
    /// `--from-savepoint DIR`: start from that savepoint instead of the latest checkpoint.
    public var fromSavepoint: String?
    /// `--restarts N`: restarts after a failure, each from the latest checkpoint.
    public var restarts: Int?
    /// `--restart-delay D`: the first restart's wait (doubling after each, up to a minute).
    public var restartDelay: String?
    /// `--set KNOB=VALUE`, in order: knob values over the profile's (and every profile switched to).
    public var settings: [String] = []

    public init(file: String) {
        self.file = file
        progress = .off
        leftovers = .refuse
    }
}

/// How a run ended, one case per exit code of docs/operations.md.
public enum RunResult: Sendable, Hashable {
    case ok
    /// The pipeline, a profile or a flag is invalid.
    case config
    /// `--max-duration` ran out while behind a caught-up target.
    case behind
    /// Late rows exceeded `event_time.max_late_share`.
    case late
    case leftoverState
    case leftoverOutput
    case locked
    /// A second signal while draining.
    case interrupted
    /// The job failed; the kind picks the code.
    case failed(StreamError.Kind)
}

/// One `streamctl run` from parsed flags to its result: loads the pipeline, rejects flags that would do
/// nothing for it, runs the start-of-run checks, runs the job, and writes the summary line on every path —
/// also when it never started — to stderr and `--summary FILE`.
public struct RunSession {
    public let request: RunRequest
    /// Signals received so far (SIGINT/SIGTERM): the first drains, the second exits at once.
    public let signals: @Sendable () -> Int
    /// Ends the process with the code of `result` (a second signal cannot wait for the drain).
    public let exitNow: (RunResult) -> Never

    public init(request: RunRequest, signals: @escaping @Sendable () -> Int, exitNow: @escaping (RunResult) -> Never) {
        self.request = request
        self.signals = signals
        self.exitNow = exitNow
    }

    public func run() -> RunResult {
        KafkaLog.route(to: RunLog.logger(label: "librdkafka"))
        let startedNs = SystemClock().monotonicNs()
        var pipelineName = request.file
        var profileName = request.profile ?? "steady"
        var output = ""
        func early(_ result: RunResult, _ message: String) -> RunResult {
            RunLog.write("error: \(message)")
            RunSummary.notStarted(
                pipeline: pipelineName, error: message, profile: profileName, output: output, startedNs: startedNs
            ).emit(to: request.summaryFile)
            return result
        }

        var spec: PipelineSpec
        var profile: Profile
        var sourced: SourcedProfile
        let settings: KnobSettings
        do throws(PipelineErrors) {
            settings = try KnobSettings.parse(request.settings)
            (spec, profile) = try PipelineLoader.loadResolved(path: request.file, profile: request.profile)
            sourced = try ProfileLoader.resolveSourced(
                name: profile.name, spec: spec,
                searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: request.file), settings: settings)
            profile = sourced.profile
            var flag: SourceInstance?
            if let text = request.instance {
                guard let i = SourceInstance(text) else {
                    throw PipelineErrors([
                        PipelineError(
                            file: request.file, line: 0, column: 0,
                            message: "--instance takes I/N with 0 <= I < N (e.g. 0/3), not `\(text)`",
                            help: "process I of N reads the partitions p with p % N == I")
                    ])
                }
                flag = i
            }
            spec = try Instances.apply(flag, to: spec)
            for warning in Instances.splitKeyWarnings(spec) { RunLog.write(warning) }
        } catch {
            RunLog.write(error.rendered)
            let first = error.errors.first.map { "\($0.file):\($0.line):\($0.column): \($0.message)" } ?? "invalid"
            RunSummary.notStarted(
                pipeline: pipelineName, error: "configuration error: \(first)", profile: profileName, output: output,
                startedNs: startedNs
            ).emit(to: request.summaryFile)
            return .config
        }
        pipelineName = spec.name
        profileName = profile.name
        if case .file(let f) = spec.sink.kind { output = f.path }

        let options: RunOptions
        do throws(FlagError) {
            options = try RunFlags.check(request, spec: spec, profile: &profile)
        } catch {
            return early(.config, error.message)
        }
        profileName = profile.name
        if request.parallelism != nil {
            sourced.sources["parallelism"] = .commandLine
            sourced.sources["operator_parallelism"] = .commandLine
        }
        sourced.profile = profile

        // A pipeline with checkpoints resumes from its latest one: what an earlier run left in state.dir and
        // under the output path is then this job's own state and committed output, restored, not refused.
        var resuming = false
        if spec.checkpoints.enabled {
            let store = CheckpointStore(root: spec.checkpoints.dir)
            if request.leftovers == .fresh {
                do throws(StreamError) { try store.removeAll() } catch { return early(.failed(.checkpoint), error.message) }
                RunLog.write("checkpoint: --fresh removed the checkpoints in \(store.root)")
            } else {
                // No checkpoint yet: nothing was committed, so the state found is unaccounted work the runner
                // discards; with one, the runner restores it.
                resuming = true
            }
        }

        let lock: StateDirectoryLock?
        do throws(PreflightFailure) {
            lock = try RunPreflight(spec: spec, policy: request.leftovers, resuming: resuming).prepare()
        } catch {
            let result: RunResult
            switch error.kind {
            case .leftoverState: result = .leftoverState
            case .leftoverOutput: result = .leftoverOutput
            case .locked: result = .locked
            case .io: result = .failed(.io)
            }
            return early(result, error.message)
        }
        defer { withExtendedLifetime(lock) {} }

        let controlSetup: (ControlAddress?, HeapProfiles?)
        do throws(FlagError) { controlSetup = try RunFlags.control(request) } catch {
            return early(.config, error.message)
        }
        let disk = spec.state.backend == .rocksdb ? DiskSpaceWatch(directory: spec.state.dir) : nil
        if let short = disk?.shortage(minimum: DiskSpaceWatch.startMinimum, starting: true) {
            return early(.failed(short.kind), short.message)
        }
        let runner = JobRunner(spec: spec, profile: profile, options: options)
        runner.settings = settings
        runner.startSources = sourced.sources
        // Up before the job starts, so it answers (with an empty job) while the parts are assembled.
        let control = RunControl(runner: runner, heapProfiles: controlSetup.1)
        do throws(ControlError) { try control.start(address: controlSetup.0) } catch {
            return early(.config, error.message)
        }
        defer { control.stop() }
        let signals = self.signals
        let shouldStop = {
            control.tick()
            if signals() >= 2 {
                RunLog.write(
                    "second signal: exiting without draining; in-progress part files are left for the next run to remove"
                )
                runner.summaryNow(status: "interrupted", error: "interrupted by a second signal while draining")?
                    .emit(to: request.summaryFile)
                exitNow(.interrupted)
            }
            if let short = disk?.shortage(minimum: DiskSpaceWatch.runMinimum, starting: false),
                let job = runner.job, !job.isFinished
            {
                job.fail(short)
            }
            return signals() > 0
        }
        let outcome: RunOutcome
        do throws(StreamError) { outcome = try runner.runWithRestarts(shouldStop: shouldStop) } catch {
            return early(error.kind == .config ? .config : .failed(error.kind), error.message)
        }
        outcome.summary.emit(to: request.summaryFile)
        if let failure = outcome.failure {
            if failure.isStdoutClosed { return .ok }
            RunLog.write("error: \(failure.message)")
            return failure.kind == .config ? .config : .failed(failure.kind)
        }
        if outcome.stillBehind { return .behind }
        if outcome.tooLate {
            let share = LateShare(spec: spec, snapshot: runner.snapshot() ?? outcome.summary.snapshot!)
            RunLog.write(
                "error: \(share.lateRows) of \(share.rowsRead) rows (\(Int((share.share * 100).rounded()))%) were late, "
                    + "more than `event_time.max_late_share` allows: the output is missing most of its input; "
                    + "look for event times far ahead in the input, or raise `max_disorder`")
            return .late
        }
        return .ok
    }
}
