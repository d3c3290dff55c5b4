import ArgumentParser
import StreamControl
import StreamCore
import StreamPipeline
import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the running job of a pipeline file (its `control.json`) or takes `--url`; exits 69 when none answers.
struct JobLocator: ParsableArguments {
    @Argument(help: "Pipeline file (YAML) of the running job.")
    var file: String

    @Option(help: "The control endpoint's URL instead of the one in <state.dir>/control.json.")
    var url: String?

    func client() throws -> ControlClient {
        var target = url
        if target == nil {
            let (spec, _) = try loadPipeline(file, profile: nil)
            do throws(ControlError) { target = try ControlFile.read(stateDir: spec.state.dir).url } catch {
                log("error: \(error.message)")
                throw ExitCode(Exit.brokerUnavailable.rawValue)
            }
        }
        guard let target, let client = ControlClient(url: target) else {
            log("error: `\(target ?? "")` is not an http://HOST:PORT address")
            throw ExitCode(Exit.config.rawValue)
        }
        return client
    }

    func status(_ client: ControlClient) throws -> JobStatus {
        do throws(ControlError) { return try client.status() } catch {
            log("error: \(error.message)")
            throw ExitCode(Exit.brokerUnavailable.rawValue)
        }
    }
}

/// One snapshot of a running job: a table, or the `/status` document with `--json`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running job's figures (from its control endpoint, `run --http`).",
        discussion: """
            Examples:
              streamctl status examples/orders.yaml
              streamctl status examples/orders.yaml --json | jq .stages

            Exits 69 when no running job answers.
            """)

    @OptionGroup var job: JobLocator

    @Flag(help: "Print the /status JSON document.")
    var json = false

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let client = try job.client()
        if json {
            do throws(ControlError) {
                let (code, body) = try client.request(.GET, "/status")
                guard code == 200 else { throw ControlError(status: code, message: "/status answered \(code)") }
                print(String(decoding: body, as: UTF8.self))
            } catch {
                log("error: \(error.message)")
                throw ExitCode(Exit.brokerUnavailable.rawValue)
            }
            return
        }
        print(StatusTable.render(try job.status(client), color: false), terminator: "")
    }
}

/// A live view of a running job, redrawn every second; back-pressured workers are highlighted.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a running job live: one row per operator and worker (Ctrl-C to leave).",
        discussion: """
            Rows of back-pressured workers (blocked on a full queue downstream
            at least 100 ms/s) are shown in red; the stage after them is the
            bottleneck. Leaves by itself when the job ends.
            """)

    @OptionGroup var job: JobLocator

    @Option(help: "Seconds between redraws.")
    var interval: Double = 1

    @Option(help: "Stop after this many redraws (default: until the job ends).")
    var iterations: Int?

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let client = try job.client()
        let color = isatty(1) != 0
        var n = 0
        while iterations.map({ n < $0 }) ?? true {
            let status: JobStatus
            do throws(ControlError) { status = try client.status() } catch {
                print("\nthe job's control endpoint is gone (the run ended): \(error.message)")
                return
            }
            // Home and clear, then the table: a full redraw each time.
            print("\u{1B}[H\u{1B}[2J" + StatusTable.render(status, color: color), terminator: "")
            fflushStdout()
            n += 1
            if !status.running { return }
            usleep(UInt32(max(0.1, interval) * 1_000_000))
        }
    }
}

/// The status document as a table, one row per worker under a line per stage.
enum StatusTable {
    static func render(_ s: JobStatus, color: Bool) -> String {
        var out = "\(s.pipeline)  profile \(s.profile)  pid \(s.pid)  up \(Int(s.uptimeSeconds))s  "
        out += "rows \(s.rowsRead.short)  lag \(s.lag.short)  \(s.running ? "running" : "finished")\n"
        let m = s.memory
        out += "memory  rss \(mib((m.processResidentBytes)))"
        if let a = m.allocatedBytes { out += "  allocated \(mib((a)))" }
        if let r = m.residentBytes { out += "  jemalloc resident \(mib((r)))" }
        if let b = m.budgetBytes { out += "  budget \(mib((b)))" }
        out += "\n"
        if let c = s.checkpoints {
            out += "checkpoints  \(c.completed) completed, \(c.failed) failed (\(c.aborted) aborted)"
            if let id = c.lastId { out += ", last \(id)" }
            if let d = c.lastDurationSeconds { out += " in \(format1(d))s" }
            if let p = c.lastPauseSeconds { out += ", pause \(format1(p * 1000))ms" }
            if let b = c.lastSizeBytes { out += ", \(mib(Int(b)))" }
            out += "\n"
        }
        if let sw = s.lastProfileSwitch {
            out += "profile switches  \(s.profileSwitches), last \(sw.from) → \(sw.to) (\(sw.reason)), rows stopped "
                + "\(format1(sw.pauseSeconds * 1000))ms\n"
        }
        if let b = s.badRecords, !b.byReason.isEmpty {
            out += "bad records (\(b.policy))  "
                + b.byReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        out += "\n"
        let header = ["STAGE", "WORKER", "ROWS IN", "IN/S", "OUT/S", "BUSY", "IDLE", "BACKPR", "FILL", "NOTE"]
        var rows: [[String]] = [header]
        var highlight: [Bool] = [false]
        for stage in s.stages {
            for w in s.workers(of: stage.id) {
                var note = w.backPressured ? "back-pressured" : ""
                if let lag = w.figures["lag"] { note += (note.isEmpty ? "" : ", ") + "lag \(lag.short)" }
                if let t = w.figures["throttled_ms"], t > 0 { note += (note.isEmpty ? "" : ", ") + "throttled \(t)ms" }
                rows.append([
                    stage.id, String(w.worker), w.rowsIn.short, Int64(w.rowsInPerSecond).short,
                    Int64(w.rowsOutPerSecond).short, ms(w.busyMsPerSecond), ms(w.idleMsPerSecond),
                    ms(w.backPressuredMsPerSecond), "\(Int((w.inputFill * 100).rounded()))%", note,
                ])
                highlight.append(w.backPressured)
            }
        }
        for (line, hot) in zip(columns(rows), highlight) {
            out += (hot && color ? "\u{1B}[1;37;41m" + line + "\u{1B}[0m" : line) + "\n"
        }
        out += "\nBUSY/IDLE/BACKPR: ms per second over the last \(format1(s.intervalSeconds))s\n"
        if !s.partitions.isEmpty {
            var parts = [["TOPIC", "PARTITION", "WORKER", "LAG", "WATERMARK", "EVENT TIME BEHIND"]]
            for p in s.partitions {
                parts.append([
                    p.topic, String(p.partition), String(p.worker), p.lagRows.map { $0.short } ?? "-",
                    p.watermarkMs.map { CivilTime.rfc3339($0) } ?? "-",
                    p.eventTimeLagSeconds.map(behind) ?? "-",
                ])
            }
            out += "\n" + columns(parts).joined(separator: "\n") + "\n"
        }
        return out
    }

    /// `42s`, `17m`, `5h`, `365d`: how far behind in event time, at a glance.
    private static func behind(_ seconds: Double) -> String {
        if seconds < 120 { return "\(format1(seconds))s" }
        if seconds < 7_200 { return "\(Int(seconds / 60))m" }
        if seconds < 172_800 { return "\(Int(seconds / 3_600))h" }
        return "\(Int(seconds / 86_400))d"
    }

    /// Rows padded into aligned columns, trailing blanks trimmed.
    private static func columns(_ rows: [[String]]) -> [String] {
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            var line = r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    private static func mib(_ bytes: Int) -> String { "\(format1(Double(bytes) / 1_048_576))MiB" }

    private static func ms(_ v: Double) -> String { "\(Int(v.rounded()))ms" }
}
