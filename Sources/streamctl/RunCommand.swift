import ArgumentParser
import StreamCore
import StreamOps
import StreamPipeline

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

    func run() throws {
        StopSignals.install()
        let started = SystemClock().monotonicNs()
        let (spec, resolved) = try loadPipeline(file, profile: self.profile)
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

        let clock = SystemClock()
        let fill =
            (generate != nil || load != nil)
            ? EmbeddedFill(partitions: partitions, generateRows: generate, loadFile: load, keyField: loadKey)
            : EmbeddedFill(partitions: partitions)
        let assembly: JobAssembly
        let job: Job
        do throws(StreamError) {
            assembly = try JobAssembly(spec: spec, profile: profile, embeddedFill: fill, clock: clock)
            if let broker = assembly.embedded { log("embedded broker at \(broker.bootstrapServers)") }
            if let fs = assembly.stateFilesystem {
                log("state: \(spec.state.backend.rawValue) in \(spec.state.dir) on \(fs)")
            }
            let arenas = JemallocArenas(count: ProcessMemory.availableCPUs())
            job = Job(
                plan: assembly.plan, clock: clock,
                badRecords: try BadRecordHandler(policy: spec.source.onBadRecord),
                limits: RunLimits(maxRecords: maxRecords, bound: bound), state: assembly.state,
                onWorkerStart: { arenas.bindCurrentThread($0) })
            log("running \(spec.name) with profile \(profile.name) (parallelism \(profile.parallelism))")
            if spec.profiles.auto?.enabled == true {
                log(
                    "note: profiles.auto is set, but automatic profile switching is not built yet: "
                        + "the job stays on \(profile.name)")
            }
            try job.start()
        } catch {
            throw fail(error)
        }

        let reporter = ProgressReporter(job: job, enabled: progress == "on" || (progress == "auto" && isatty(2) != 0))
        var timedOut = false
        while !job.isFinished {
            sleepMs(100)
            if StopSignals.requested, !job.isStopRequested {
                log("stopping: draining what was read (signal again to exit at once)")
                job.requestStop()
            }
            if let deadline = deadlineMs, Int64((clock.monotonicNs() &- started) / 1_000_000) >= deadline, !timedOut {
                timedOut = true
                log("--max-duration reached: stopping")
                job.requestStop()
            }
            reporter.tick()
        }
        reporter.finish()
        var failure: StreamError?
        do { try job.wait() } catch { failure = error }
        do { try assembly.state.close() } catch { failure = failure ?? error }

        let snapshot = job.snapshot()
        let lagLeft = snapshot.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
        let stillBehind = timedOut && bound == .caughtUp && lagLeft > 0
        let line = RunSummary(
            pipeline: spec.name, status: failure != nil ? "failed" : (stillBehind ? "behind" : "ok"),
            error: failure?.message, profile: profile.name, snapshot: snapshot, lagLeft: lagLeft,
            badRecords: job.badRecordCount, durationMs: Int64((clock.monotonicNs() &- started) / 1_000_000),
            output: assembly.outputDescription, peakRSS: ProcessMemory.peakResidentBytes()
        ).json
        log(line)
        if let path = summary { AppendFile(path: path).append(Array((line + "\n").utf8)) }
        if let failure {
            if failure.kind == .sink, failure.message == "stdout closed" { return }
            throw fail(failure)
        }
        if stillBehind { throw ExitCode(Exit.stillBehind.rawValue) }
    }

    private func fail(_ error: StreamError) -> ExitCode {
        log("error: \(error.message)")
        return ExitCode(Exit(error).rawValue)
    }
}

/// The one-line JSON summary a cron job or CI step reads.
struct RunSummary {
    var pipeline: String
    var status: String
    var error: String?
    var profile: String
    var snapshot: JobSnapshot
    var lagLeft: Int64
    var badRecords: Int
    var durationMs: Int64
    var output: String
    var peakRSS: Int

    var json: String {
        let source = snapshot.workers.filter { $0.stage == "source" }
        let sink = snapshot.workers.filter { $0.stage == "sink" }
        let late = snapshot.workers.reduce(Int64(0)) { $0 + $1.lateRows }
        var fields: [(String, String)] = [
            ("pipeline", JSONText.quote(pipeline)), ("status", JSONText.quote(status)),
            ("rows_in", String(source.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("rows_out", String(sink.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("data_loss_offsets", String(source.reduce(Int64(0)) { $0 + ($1.extra["data_loss_offsets"] ?? 0) })),
            ("late_rows", String(late)), ("bad_records", String(badRecords)), ("lag_left", String(lagLeft)),
            ("duration_ms", String(durationMs)), ("profile", JSONText.quote(profile)), ("profile_switches", "0"),
            ("output", JSONText.quote(output)), ("peak_rss_bytes", String(peakRSS)),
            ("stage_busy_ms", stageBusy),
        ]
        if let error { fields.append(("error", JSONText.quote(error))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Busy milliseconds of each stage over the run, its workers summed, in stage order: which stage
    /// the time went to, and whether a stage's workers kept their cores busy.
    var stageBusy: String {
        var order: [String] = []
        var busy: [String: Int64] = [:]
        for w in snapshot.workers {
            if busy[w.stage] == nil { order.append(w.stage) }
            busy[w.stage, default: 0] += w.busyNs / 1_000_000
        }
        return "{" + order.map { "\(JSONText.quote($0)):\(busy[$0]!)" }.joined(separator: ",") + "}"
    }
}

/// The progress line on stderr: rows, rate, lag and the busiest stage, every two seconds.
final class ProgressReporter {
    let job: Job
    let enabled: Bool
    private var last: JobSnapshot
    private var lastPrintNs: UInt64

    init(job: Job, enabled: Bool) {
        self.job = job
        self.enabled = enabled
        last = job.snapshot()
        lastPrintNs = last.takenAtNs
    }

    func tick() {
        guard enabled else { return }
        let now = job.snapshot()
        guard now.takenAtNs &- lastPrintNs >= 2_000_000_000 else { return }
        let rates = now.rates(since: last)
        let sourceRate = rates.filter { $0.stage == "source" }.reduce(0) { $0 + $1.rowsOutPerSecond }
        let rows = now.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + $1.rowsIn }
        let lag = now.workers.filter { $0.stage == "source" }.reduce(Int64(0)) { $0 + ($1.extra["lag"] ?? 0) }
        var busiest = ""
        var stageBusy: [String: Double] = [:]
        for r in rates { stageBusy[r.stage, default: 0] = max(stageBusy[r.stage, default: 0], r.busyMsPerSecond) }
        if let top = stageBusy.max(by: { $0.value < $1.value }) { busiest = "\(top.key) \(Int(top.value / 10))% busy" }
        var line = "rows \(rows.short)  rate \(Int64(sourceRate).short)/s  lag \(lag.short)  \(busiest)"
        if sourceRate > 0 && lag > 0 { line += "  eta \(Int(Double(lag) / sourceRate))s" }
        log(line)
        last = now
        lastPrintNs = now.takenAtNs
    }

    func finish() {}
}
