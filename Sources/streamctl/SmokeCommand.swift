import ArgumentParser
import Foundation
import Logging
import StreamCore
import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// CI's check of a pipeline: runs it on known input to the end and compares the output with an expectation.
struct Smoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline on known input and compare its output with an expected file (for CI).",
        discussion: """
            Examples:
              streamctl smoke examples/orders.yaml \\
                --data examples/data/orders-sample.jsonl \\
                --expect examples/expected/orders.jsonl --junit smoke.xml

            With `brokers: embedded`, --data is loaded into the source topic
            and the run stops when it has caught up. The output (stdout lines,
            or every committed part file of a file sink) is compared with
            --expect line by line, in any order. Exits 0 on a match, 8 on a
            mismatch (with a diff), and with the run's own code when it fails.
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "JSON-lines input loaded into the embedded broker's source topic.")
    var data: String?

    @Option(help: "The expected output, one row a line (order does not matter).")
    var expect: String

    @Option(help: "Also write the result as JUnit XML to this file.")
    var junit: String?

    @Option(help: "Workload profile to run with.")
    var profile: String?

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let (spec, _) = try loadPipeline(file, profile: profile)
        guard let expectedText = try? String(contentsOfFile: expect, encoding: .utf8) else {
            log("error: cannot read the expectation \(expect)")
            throw ExitCode(Exit.io.rawValue)
        }
        var request = RunRequest(file: file)
        request.profile = profile
        request.leftovers = .fresh
        if case .kafka = spec.source.kind {
            request.until = "caught-up"
            request.load = data
        } else if data != nil {
            log("error: --data loads the embedded broker; \(file) does not read from Kafka (remove --data)")
            throw ExitCode(Exit.config.rawValue)
        }
        let outputPath: String?
        switch spec.sink.kind {
        case .stdout: outputPath = nil
        case .file(let f): outputPath = f.path
        default:
            log("error: smoke compares stdout or file output; \(file) writes elsewhere")
            throw ExitCode(Exit.config.rawValue)
        }

        let started = Date()
        let (result, printed) = Self.capturingStdout(enabled: outputPath == nil) {
            RunSession(request: request, signals: { 0 }, exitNow: { r in _exit(Exit(r).rawValue) }).run()
        }
        let seconds = Date().timeIntervalSince(started)
        guard result == .ok else {
            let message = "the run ended with exit code \(Exit(result).rawValue)"
            RunLog.write("smoke: \(file): \(message)", level: .error)
            try writeJUnit(failure: message, details: "", seconds: seconds)
            throw ExitCode(Exit(result).rawValue)
        }
        let actual = outputPath.map(Self.committedLines(under:)) ?? Self.lines(printed)
        let diff = SmokeDiff(expected: Self.lines(expectedText), actual: actual)
        if diff.matches {
            log("smoke: \(file): ok (\(actual.count) rows as expected)")
            try writeJUnit(failure: nil, details: "", seconds: seconds)
            return
        }
        let text = diff.rendered
        RunLog.write("smoke: \(file): output differs from \(expect)\n\(text)", level: .error)
        try writeJUnit(failure: "output differs from \(expect)", details: text, seconds: seconds)
        throw ExitCode(Exit.smokeMismatch.rawValue)
    }

    private func writeJUnit(failure: String?, details: String, seconds: Double) throws {
        guard let junit else { return }
        let xml = JUnitReport(suite: "streamctl smoke", testName: file, seconds: seconds, failure: failure, details: details)
            .xml
        do { try Data(xml.utf8).write(to: URL(fileURLWithPath: junit)) } catch {
            log("error: cannot write \(junit): \(error.localizedDescription)")
            throw ExitCode(Exit.io.rawValue)
        }
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Rows of every committed part file under `path` (in-progress files start with a dot and are skipped).
    static func committedLines(under path: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        var out: [String] = []
        for case let name as String in walker {
            let base = (name as NSString).lastPathComponent
            guard base.hasPrefix("part-") else { continue }
            if let text = try? String(contentsOfFile: path + "/" + name, encoding: .utf8) { out += lines(text) }
        }
        return out
    }

    /// Runs `body` with fd 1 sent to a temporary file, and returns what was written there.
    static func capturingStdout<T>(enabled: Bool, _ body: () -> T) -> (T, String) {
        guard enabled else { return (body(), "") }
        let path = NSTemporaryDirectory() + "streamctl-smoke-\(getpid()).out"
        fflush(nil)
        let saved = dup(1)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        dup2(fd, 1)
        close(fd)
        let result = body()
        fflush(nil)
        dup2(saved, 1)
        close(saved)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        unlink(path)
        return (result, text)
    }
}

/// Expected against actual rows as multisets: what is missing and what is extra.
struct SmokeDiff {
    var missing: [String] = []
    var extra: [String] = []

    init(expected: [String], actual: [String]) {
        var counts: [String: Int] = [:]
        for line in expected { counts[Self.normalized(line), default: 0] += 1 }
        for line in actual {
            let key = Self.normalized(line)
            if let c = counts[key], c > 0 { counts[key] = c - 1 } else { extra.append(line) }
        }
        for line in expected {
            let key = Self.normalized(line)
            if let c = counts[key], c > 0 {
                missing.append(line)
                counts[key] = c - 1
            }
        }
        missing.sort()
        extra.sort()
    }

    var matches: Bool { missing.isEmpty && extra.isEmpty }

    /// `-` rows expected but not produced, `+` rows produced but not expected; at most 20 of each.
    var rendered: String {
        var out = ["--- expected  +++ actual  (\(missing.count) missing, \(extra.count) unexpected)"]
        out += missing.prefix(20).map { "- " + $0 }
        if missing.count > 20 { out.append("- … \(missing.count - 20) more") }
        out += extra.prefix(20).map { "+ " + $0 }
        if extra.count > 20 { out.append("+ … \(extra.count - 20) more") }
        return out.joined(separator: "\n")
    }

    /// Trailing whitespace and `\r` do not count.
    static func normalized(_ line: String) -> String {
        var s = Substring(line)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// One JUnit XML test suite with one test case, as CI servers read it.
struct JUnitReport {
    var suite: String
    var testName: String
    var seconds: Double
    var failure: String?
    var details: String

    var xml: String {
        let time = String(format: "%.3f", seconds)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites tests=\"1\" failures=\"\(failure == nil ? 0 : 1)\" time=\"\(time)\">\n"
        out += "  <testsuite name=\"\(esc(suite))\" tests=\"1\" failures=\"\(failure == nil ? 0 : 1)\" time=\"\(time)\">\n"
        out += "    <testcase classname=\"smoke\" name=\"\(esc(testName))\" time=\"\(time)\""
        if let failure {
            out += ">\n      <failure message=\"\(esc(failure))\">\(esc(details))</failure>\n    </testcase>\n"
        } else {
            out += "/>\n"
        }
        return out + "  </testsuite>\n</testsuites>\n"
    }

    private func esc(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
