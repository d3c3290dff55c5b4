import ArgumentParser
import StreamCore
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
              streamctl run examples/orders.yaml --until caught-up --fresh \\
                --profile backfill --max-duration 50m

            With `brokers: embedded` the job starts an in-process Kafka broker
            (librdkafka's mock cluster); --generate and --load fill its source
            topic first. One JSON summary line goes to stderr (and to --summary
            FILE) at the end, whatever the outcome. State or output an earlier
            run left is refused unless --fresh or --append says what to do.
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "Workload profile to start with (backfill, steady, seasonal or a profile file's name).")
    var profile: String?

    @Option(help: "Stop condition: `caught-up` reads to the end offsets sampled at start, then exits (Kafka sources).")
    var until: String?

    // `.unconditional` takes `-5` as the value, so a negative number gets a clear message and exit 2.
    @Option(parsing: .unconditional, help: "Stop after this many source rows.")
    var maxRecords: Int?

    @Option(
        parsing: .unconditional,
        help: "Stop after this long (e.g. 10m); exit 3 if still behind a --until caught-up target.")
    var maxDuration: String?

    @Option(
        name: .customLong("set"), parsing: .singleValue,
        help: "Set a profile knob, KNOB=VALUE (repeatable), e.g. checkpoint.interval=30s; also over every profile switched to.")
    var settings: [String] = []

    @Option(parsing: .unconditional, help: "Override the profile's parallelism for every operator (1–128).")
    var parallelism: Int?

    @Option(
        parsing: .unconditional,
        help: "Embedded broker: generate this many orders into the source topic before starting.")
    var generate: Int?

    @Option(help: "Embedded broker: load this JSON-lines file into the source topic before starting.")
    var load: String?

    @Option(help: "Embedded broker: the JSON field whose value keys loaded messages.")
    var loadKey: String?

    @Option(parsing: .unconditional, help: "Embedded broker: partitions of created topics (default 8).")
    var partitions: Int?

    @Flag(help: "Discard the state and output an earlier run left (state.dir, part files, dead-letter and late files).")
    var fresh = false

    @Flag(help: "Keep an earlier run's output and add this run's part files beside it (earlier state is discarded).")
    var append = false

    @Option(help: "Progress on stderr: auto or on (a line in place on a terminal, else a log line now and then), off.")
    var progress: String = "auto"

    @Option(help: "How often the progress log line is written when stderr is not a terminal (default 10s).")
    var progressInterval: String?

    @Option(help: "Also append the JSON summary line to this file (on every exit, failures included).")
    var summary: String?

    @Option(help: "Process I of N on one Kafka topic: read the partitions p with p % N == I (e.g. 0/3).")
    var instance: String?

    @Option(help: "Serve the control endpoint (/status, /metrics) on HOST:PORT; port 0 picks one (e.g. 127.0.0.1:0).")
    var http: String?

    @Option(help: "Write jemalloc heap profiles for jeprof into this directory (sampling on for the run).")
    var heapProfileDir: String?

    @Option(help: "With --heap-profile-dir: also write a profile this often (e.g. 10m).")
    var heapProfileInterval: String?
    @Option(help: "After a failure, start again this many times, each from the latest checkpoint (default 0).")
    var restarts: Int?

    @Option(help: "Wait before the first restart (doubling after each, up to 1m); default 1s.")
    var restartDelay: String?

    @Option(help: "When the run ends, copy its last checkpoint, self-contained, to this directory.")
    var savepointOnExit: String?

    @Option(help: "Start from the savepoint in this directory (any parallelism) instead of the latest checkpoint.")
    var fromSavepoint: String?

    @OptionGroup var logging: LogOptions

    func validate() throws {
        if fresh && append { throw ValidationError("--fresh and --append exclude each other: pick one") }
        guard ["auto", "on", "off"].contains(progress) else {
            throw ValidationError("--progress takes auto, on or off, not `\(progress)`")
        }
    }

    func run() throws {
        StopSignals.install()
        logging.apply()
        var request = RunRequest(file: file)
        request.profile = profile
        request.until = until
        request.maxRecords = maxRecords
        request.maxDuration = maxDuration
        request.parallelism = parallelism
        request.settings = settings
        request.generate = generate
        request.load = load
        request.loadKey = loadKey
        request.partitions = partitions
        // A terminal gets the line in place; a pipe (cron, CI) a log line now and then. JSON logs are for machines.
        if progress == "off" {
            request.progress = .off
        } else if isatty(2) != 0 && logging.logFormat == "text" {
            request.progress = .inPlace
        } else {
            request.progress = .lines(everyMs: 10_000)
        }
        request.progressInterval = progressInterval
        request.summaryFile = summary
        request.leftovers = fresh ? .fresh : (append ? .append : .refuse)
        request.instance = instance
        request.http = http
        request.heapProfileDir = heapProfileDir
        request.heapProfileInterval = heapProfileInterval
        request.savepointOnExit = savepointOnExit
        request.restarts = restarts
        request.restartDelay = restartDelay
        request.fromSavepoint = fromSavepoint
        let session = RunSession(
            request: request, signals: { Int(StopSignals.count) },
            exitNow: { result in
                fflush(nil)
                _exit(Exit(result).rawValue)
            })
        let result = session.run()
        if result != .ok { throw ExitCode(Exit(result).rawValue) }
    }
}
