import ArgumentParser
import StreamCore
import StreamOps
import StreamPipeline
import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a pipeline until its sources end, a limit is reached or it is stopped (SIGINT/SIGTERM drain cleanly).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline.",
        discussion: """
            Examples:
              streamctl run examples/stdout.yaml
              streamctl run examples/orders.yaml --generate 1000000 --until caught-up
              streamctl run pipelines/orders.yaml --profile backfill --until caught-up --max-duration 50m

            With `brokers: embedded` the job starts an in-process Kafka broker (librdkafka's mock cluster);
            --generate and --load fill its source topic first.
            At the end one JSON summary line goes to stderr (and to --summary FILE when given).
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "Workload profile to start with (backfill, steady, seasonal or a profile file's name).")
    var profile: String?

    @Option(help: "Stop condition: `caught-up` reads to the end offsets sampled at start, then exits.")
    var until: String?

    @Option(help: "Stop after this many source rows.")
    var maxRecords: Int?

    @Option(help: "Stop after this long (e.g. 10m); exit 3 if still behind a --until caught-up target.")
    var maxDuration: String?

    @Option(help: "Override the profile's parallelism for every operator.")
    var parallelism: Int?

    @Option(help: "Embedded broker: generate this many orders into the source topic before starting.")
    var generate: Int?

    @Option(help: "Embedded broker: load this JSON-lines file into the source topic before starting.")
    var load: String?

    @Option(help: "Embedded broker: the JSON field whose value keys loaded messages.")
    var loadKey: String?

    @Option(help: "Embedded broker: partitions of created topics.")
    var partitions: Int = 8

    @Option(help: "Progress line on stderr: auto (when stderr is a terminal), on, off.")
    var progress: String = "auto"

    @Option(help: "Also write the JSON summary line to this file.")
    var summary: String?

    @Option(help: "Process I of N on one Kafka topic: read the partitions p with p % N == I (e.g. 0/3).")
    var instance: String?

    func run() throws {
        StopSignals.install()
        let (loaded, resolved) = try loadPipeline(file, profile: self.profile)
        let spec = try instanced(loaded)
        var profile = resolved
        if let p = parallelism {
            guard p > 0 else { throw fail(StreamError(.config, "--parallelism must be at least 1")) }
            profile.parallelism = p
            profile.operatorParallelism = [:]
        }
        var bound = SourceBound.unbounded
        if let until {
            guard until == "caught-up" else {
                throw fail(StreamError(.config, "--until takes `caught-up`, not `\(until)`"))
            }
            bound = .caughtUp
        }
        var deadlineMs: Int64? = nil
        if let d = maxDuration {
            guard let ms = Durations.parseMs(d) else {
                throw fail(StreamError(.config, "--max-duration `\(d)` is not a duration (e.g. 30s, 10m, 2h)"))
            }
            deadlineMs = ms
        }
        let options = RunOptions(
            maxRecords: maxRecords, bound: bound, maxDurationMs: deadlineMs,
            embeddedFill: EmbeddedFill(partitions: partitions, generateRows: generate, loadFile: load, keyField: loadKey),
            progress: progress == "on" || (progress == "auto" && isatty(2) != 0))
        if spec.profiles.auto?.enabled == true {
            log(
                "note: profiles.auto is set, but automatic profile switching is not built yet: "
                    + "the job stays on \(profile.name)")
        }
        let runner = JobRunner(spec: spec, profile: profile, options: options)
        do throws(StreamError) { try runner.start() } catch { throw fail(error) }
        let outcome = runner.wait(shouldStop: { StopSignals.requested })
        let line = outcome.summary.json
        log(line)
        if let path = summary { AppendFile(path: path).append(Array((line + "\n").utf8)) }
        if let failure = outcome.failure {
            if failure.kind == .sink, failure.message == "stdout closed" { return }
            throw fail(failure)
        }
        if outcome.stillBehind { throw ExitCode(Exit.stillBehind.rawValue) }
    }

    /// The pipeline as `--instance` (or the file's `source.kafka.instance`) runs it, after warning when keys
    /// would be split across the processes.
    private func instanced(_ spec: PipelineSpec) throws -> PipelineSpec {
        var flag: SourceInstance?
        if let instance {
            guard let i = SourceInstance(instance) else {
                throw fail(StreamError(.config, "--instance takes I/N with 0 <= I < N (e.g. 0/3), not `\(instance)`"))
            }
            flag = i
        }
        do throws(PipelineErrors) {
            let out = try Instances.apply(flag, to: spec)
            for warning in Instances.splitKeyWarnings(out) { log(warning) }
            return out
        } catch {
            log(render(error))
            throw ExitCode(Exit.config.rawValue)
        }
    }

    private func fail(_ error: StreamError) -> ExitCode {
        log("error: \(error.message)")
        return ExitCode(Exit(error).rawValue)
    }
}
