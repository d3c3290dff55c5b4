import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The control endpoint of a real `streamctl run`, and the commands that read it: `status`, `top` (under
/// tmux), `graph --status --format svg`, heap profiles read by jeprof. The job is held back by a throttled
/// sink (1000 rows/s behind a generator of millions), so the filter before the sink is back-pressured.
@Suite(.serialized) struct ObservabilityTests {
    static func slowPipeline(in dir: URL) throws -> URL {
        let file = dir.appendingPathComponent("slow.yaml")
        try """
        name: held
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: 50000000, keys: 20 }
        operators:
          - filter: "amount >= 0"
        sink:
          null: {}
        state: { backend: memory, dir: \(dir.path)/state }
        profiles:
          overrides: { steady: { parallelism: 1, batch_size: 256, channel_capacity: 2, sink: { records_per_second: 1000 } } }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// A running `streamctl run … --http 127.0.0.1:0`, stopped with SIGTERM at the end.
    final class RunningJob {
        let process = Process()
        let stderr = Pipe()
        let controlFile: URL

        init(pipeline: URL, dir: URL, extra: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: streamctl)
            process.arguments = ["run", pipeline.path, "--http", "127.0.0.1:0", "--progress", "off"] + extra
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            controlFile = dir.appendingPathComponent("state/control.json")
            try process.run()
        }

        /// The endpoint's URL once control.json names it (bounded wait for the process to start).
        func url() throws -> String {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let data = try? Data(contentsOf: controlFile),
                    let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let url = doc["url"] as? String
                {
                    return url
                }
                #expect(process.isRunning, "the run exited before its endpoint was up")
                if !process.isRunning { break }
                usleep(50_000)
            }
            throw CancellationError()
        }

        /// Ends the process if a failed expectation left it running.
        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }

        func stop() -> (Int32, String) {
            process.terminate()
            process.waitUntilExit()
            let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return (process.terminationStatus, err)
        }
    }

    /// Polls `condition` on the `/status` document until it holds (at most 30 s): rates need a second of samples.
    func waitForStatus(_ pipeline: URL, _ condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(30)
        var last: [String: Any] = [:]
        while Date() < deadline {
            let r = try streamctlRun(["status", pipeline.path, "--json"])
            if r.status == 0, let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] {
                last = doc
                if condition(doc) { return doc }
            }
            usleep(200_000)
        }
        Issue.record("status never met the condition; last: \(last)")
        return last
    }

    /// A tmux command, through posix_spawn and waitpid: the first one forks the tmux server and exits, and
    /// Foundation's Process did not always see that exit. Output goes to /dev/null, so the server holds no pipe.
    static func tmux(_ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Signals blocked in this test process would stay blocked in tmux and the programs it runs.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = (["/usr/bin/tmux"] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/tmux", &actions, &attributes, argv, environ)
        #expect(rc == 0)
        guard rc == 0 else { return }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    static func stage(_ doc: [String: Any], _ id: String) -> [String: Any]? {
        (doc["stages"] as? [[String: Any]])?.first { $0["id"] as? String == id }
    }

    @Test func statusTopAndSVGShowTheStageBeforeAHeldSinkAsBackPressured() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let job = try RunningJob(pipeline: pipeline, dir: dir)
        defer { job.kill() }
        _ = try job.url()

        let doc = try waitForStatus(pipeline) { Self.stage($0, "filter-1")?["back_pressured"] as? Bool == true }
        #expect(doc["pipeline"] as? String == "held")
        #expect(doc["running"] as? Bool == true)
        #expect(Self.stage(doc, "sink")?["back_pressured"] as? Bool == false)
        let bp = Self.stage(doc, "filter-1")?["back_pressured_ms_per_second"] as? Double ?? 0
        #expect(bp >= 100 && bp <= 1000)

        let table = try streamctlRun(["status", pipeline.path])
        #expect(table.status == 0)
        let filterRow = table.stdout.split(separator: "\n").first { $0.hasPrefix("filter-1 ") }
        #expect(filterRow?.contains("back-pressured") == true, "\(table.stdout)")

        // The SVG, drawn by Graphviz from the running job's status, and rendered again to PNG.
        let svg = dir.appendingPathComponent("graph.svg")
        let g = try streamctlRun(["graph", pipeline.path, "--status", "--format", "svg", "-o", svg.path])
        #expect(g.status == 0, "\(g.stderr)")
        let svgText = try String(contentsOf: svg, encoding: .utf8)
        #expect(svgText.contains("<svg"))
        #expect(svgText.contains("BACK&#45;PRESSURED") || svgText.contains("BACK-PRESSURED"))
        #expect(svgText.contains("#ffb74d") || svgText.contains("#ef5350"))
        let png = dir.appendingPathComponent("graph.png")
        let dotFile = dir.appendingPathComponent("graph.dot")
        #expect(try streamctlRun(["graph", pipeline.path, "--status", "-o", dotFile.path]).status == 0)
        #expect(try run("/usr/bin/dot", ["-Tpng", "-o", png.path, dotFile.path]).status == 0)
        let magic = try Data(contentsOf: png).prefix(8)
        #expect(Array(magic) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

        // `top` in a real terminal: the back-pressured row is drawn white on red.
        let session = "streamctl-top-\(getpid())"
        try Self.tmux(["new-session", "-d", "-s", session, "-x", "160", "-y", "30", "\(streamctl) top \(pipeline.path); sleep 30"])
        defer { try? Self.tmux(["kill-session", "-t", session]) }
        var screen = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            screen = try run("/usr/bin/tmux", ["capture-pane", "-t", session, "-p", "-e"]).stdout
            if screen.split(separator: "\n").contains(where: { $0.contains("filter") && $0.contains("back-pressured") }) {
                break
            }
            usleep(200_000)
        }
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let filterAt = lines.firstIndex { $0.contains("filter-1") && $0.contains("back-pressured") }
        #expect(filterAt != nil, "\(screen)")
        // tmux writes an SGR code only where the attributes change: the red background (41) set on this line or
        // on one above it, with no reset (0 or 49) in between, covers the filter's row.
        if let filterAt {
            let above = lines[...filterAt].lastIndex { $0.contains("\u{1B}[41m") }
            #expect(above != nil, "\(screen)")
            if let above {
                let between = lines[above...filterAt].joined(separator: "\n")
                let after41 = between.components(separatedBy: "\u{1B}[41m").last ?? ""
                let row = after41.components(separatedBy: "filter-1").first ?? ""
                #expect(!row.contains("\u{1B}[0m") && !row.contains("\u{1B}[49m"), "\(screen)")
            }
        }
        #expect(screen.contains("STAGE"))

        let (status, err) = job.stop()
        #expect(status == 0, "\(err)")
        #expect(err.contains("control endpoint at http://127.0.0.1:"))
        #expect(!FileManager.default.fileExists(atPath: job.controlFile.path), "control.json is removed at the end")
    }

    @Test func statusTableShowsPartitionsCheckpointsAndBadRecordsOfAKafkaJob() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let data = dir.appendingPathComponent("orders.jsonl")
        var lines = ["not json", "{]"]
        for i in 0..<20_000 { lines.append(#"{"order_id":\#(i),"shop":"s\#(i % 5)","amount":1.50,"ts":\#(1_764_547_200_000 + i * 1000)}"#) }
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let file = dir.appendingPathComponent("kafka.yaml")
        try """
        name: kafka-held
        schema: { order_id: int64, shop: string, amount: decimal(2), ts: timestamp }
        source:
          kafka: { brokers: embedded, topics: [orders], group: g, start_from: earliest, assignment: static }
          format: json
          event_time: { field: ts, max_disorder: 5s, max_ahead: off }
          on_bad_record: dead_letter
          dead_letter_path: \(dir.path)/bad.jsonl
        sink:
          null: {}
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 32MiB }
        checkpoints: { dir: \(dir.path)/checkpoints }
        profiles:
          overrides: { steady: { parallelism: 2, batch_size: 64, checkpoint: { interval: 500ms }, sink: { records_per_second: 500 } } }
        """.write(to: file, atomically: true, encoding: .utf8)
        let job = try RunningJob(pipeline: file, dir: dir, extra: ["--load", data.path, "--partitions", "4"])
        defer { job.kill() }
        _ = try job.url()
        // Gated on what the table shows: a completed checkpoint, both bad records, all four partitions.
        var table = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            table = try streamctlRun(["status", file.path]).stdout
            if table.contains("bad records (dead_letter)  malformed 2"), !table.contains("checkpoints  0 completed"),
                table.split(separator: "\n").filter({ $0.hasPrefix("orders ") }).count == 4
            {
                break
            }
            usleep(200_000)
        }
        #expect(table.contains("bad records (dead_letter)  malformed 2"), "\(table)")
        #expect(table.contains("checkpoints  ") && !table.contains("checkpoints  0 completed"), "\(table)")
        #expect(table.contains("TOPIC") && table.contains("EVENT TIME BEHIND"), "\(table)")
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("orders ") }
        #expect(rows.count == 4, "\(table)")
        // A partition read from shows a watermark of 2025-12-01 (the loaded event times) and days behind; one a
        // back-pressured reader has not fetched yet shows none.
        let read = rows.filter { !$0.hasSuffix(" -") }
        #expect(!read.isEmpty, "\(table)")
        #expect(read.allSatisfy { $0.contains("2025-12-01T") && $0.hasSuffix("d") }, "\(table)")
        let (status, err) = job.stop()
        #expect(status == 0, "\(err)")
        #expect(jsonLines(err).last?["checkpoints_aborted"] as? Int == 0)
    }

    @Test func heapProfileFromTheEndpointIsReadByJeprof() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let profiles = dir.appendingPathComponent("heap")
        let job = try RunningJob(pipeline: pipeline, dir: dir, extra: ["--heap-profile-dir", profiles.path])
        defer { job.kill() }
        let url = try job.url()
        // Some rows through, so the heap holds sampled allocations of the running job.
        _ = try waitForStatus(pipeline) { ($0["rows_read"] as? Int ?? 0) >= 3000 }
        let r = try run("/usr/bin/curl", ["-s", "-X", "POST", url + "/heap-profile"])
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let path = doc?["path"] as? String
        #expect(path != nil, "\(r.stdout)")
        let (status, err) = job.stop()
        #expect(status == 0, "\(err)")
        guard let path else { return }
        #expect(FileManager.default.fileExists(atPath: path))
        try Self.expectJeprofReads(path)
    }

    /// `path` is a jemalloc heap profile and `jeprof --text` reads it.
    static func expectJeprofReads(_ path: String) throws {
        let header = try String(contentsOfFile: path, encoding: .utf8).prefix(8)
        #expect(header == "heap_v2/", "\(header)")
        let text = try run("/usr/bin/jeprof", ["--text", streamctl, path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stderr.contains("Using local file \(path)"), "\(text.stderr)")
        // A profile whose sampled allocations were all freed lists nothing; otherwise the total comes first.
        if !text.stdout.isEmpty { #expect(text.stdout.contains("Total:"), "\(text.stdout)") }
    }

    @Test func heapProfileIntervalWritesProfilesThatJeprofReads() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let profiles = dir.appendingPathComponent("heap")
        let job = try RunningJob(
            pipeline: pipeline, dir: dir,
            extra: ["--heap-profile-dir", profiles.path, "--heap-profile-interval", "1s"])
        defer { job.kill() }
        _ = try job.url()
        // Gated on the files, not on the clock: two written by the interval alone (no request was made).
        func written() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: profiles.path)) ?? [])
                .filter { $0.hasSuffix("-interval.heap") }.sorted()
        }
        let deadline = Date().addingTimeInterval(60)
        while written().count < 2 && Date() < deadline && job.process.isRunning { usleep(100_000) }
        let files = written()
        #expect(files.count >= 2, "\(files)")
        let (status, err) = job.stop()
        #expect(status == 0, "\(err)")
        let pid = job.process.processIdentifier
        #expect(files.allSatisfy { $0.hasPrefix("heap-\(pid)-") }, "\(files)")
        guard let last = files.last else { return }
        try Self.expectJeprofReads(profiles.appendingPathComponent(last).path)
    }

    @Test func onATerminalTheProgressIsOneLineRedrawnInPlace() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let session = "streamctl-progress-\(getpid())"
        try Self.tmux([
            "new-session", "-d", "-s", session, "-x", "160", "-y", "30", "\(streamctl) run \(pipeline.path); sleep 30",
        ])
        defer { try? Self.tmux(["kill-session", "-t", session]) }
        func progressLines() throws -> [String] {
            try run("/usr/bin/tmux", ["capture-pane", "-t", session, "-p"]).stdout.split(separator: "\n")
                .map(String.init).filter { $0.hasPrefix("rows ") && $0.contains("  rate ") }
        }
        // Gated on the screen: a first progress line, then a different one (a redraw), then count them.
        var first: [String] = []
        var later: [String] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let now = try progressLines()
            if first.isEmpty {
                first = now
            } else if !now.isEmpty && now != first {
                later = now
                break
            }
            usleep(200_000)
        }
        #expect(!first.isEmpty, "no progress line on the terminal")
        #expect(later.count == 1, "the redraw replaced the line instead of adding one: \(later)")
        #expect(!later.contains { $0.hasPrefix("progress: ") }, "a terminal gets the line in place, not log lines")
    }

    @Test func statusWithoutARunningJobExits69AndSaysWhy() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let r = try streamctlRun(["status", pipeline.path])
        #expect(r.status == 69)
        #expect(r.stderr.contains("no running job found"))
    }

    @Test func httpWithABadAddressExits2() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = try Self.slowPipeline(in: dir)
        let r = try streamctlRun(["run", pipeline.path, "--http", "localhost:port", "--max-records", "10"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--http takes HOST:PORT"))
    }
}
