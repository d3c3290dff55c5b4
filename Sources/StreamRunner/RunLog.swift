import Foundation
import Logging
import StreamCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Lines on stderr: logs, progress and warnings never mix with rows on stdout. Log lines go through swift-log
/// (`RunLog.logger`, handler `RunLogHandler`): human text as it always was, or one JSON object a line with
/// `--log-format json`. The summary line is JSON already and is written as it is (`writeLine`).
public enum RunLog {
    /// How log lines are written; set once at start, before threads log.
    public static var format: LogFormat {
        get { LogFormat(rawValue: formatRaw.load(ordering: .relaxed)) ?? .text }
        set { formatRaw.store(newValue.rawValue, ordering: .relaxed) }
    }
    private static let formatRaw = Atomic<Int>(LogFormat.text.rawValue)

    /// streamctl's own logger; librdkafka's lines use `logger(label: "librdkafka")`.
    public static let logger = Self.logger(label: "streamctl")

    public static func logger(label: String) -> Logger {
        var logger = Logger(label: label) { RunLogHandler(label: $0) }
        logger.logLevel = .info
        return logger
    }

    /// Logs `message`; a leading `error:` or `warning:`, or a positioned one (`file:3:7: error: …`), sets the level.
    public static func write(_ message: String) {
        write(message, level: level(of: message))
    }

    /// Logs `message` at `level`, whatever its text says.
    public static func write(_ message: String, level: Logger.Level) {
        logger.log(level: level, "\(message)")
    }

    static func level(of message: String) -> Logger.Level {
        if message.hasPrefix("error:") { return .error }
        if message.hasPrefix("warning:") { return .warning }
        let first = message.prefix { $0 != "\n" }
        if first.contains(": error: ") { return .error }
        if first.contains(": warning: ") { return .warning }
        return .info
    }

    private static let progressShown = Atomic<Bool>(false)

    /// Shows `text` as the one progress line, in place of the last one (a terminal: no newline).
    public static func writeProgress(_ text: String) {
        writeRaw("\r\u{1B}[K" + text)
        progressShown.store(true, ordering: .relaxed)
    }

    /// Clears the progress line, if one is shown.
    public static func clearProgress() {
        if progressShown.exchange(false, ordering: .relaxed) { writeRaw("\r\u{1B}[K") }
    }

    /// Writes `text` and a newline to stderr in one `write`, so lines of several threads do not interleave.
    /// A progress line on the terminal is cleared first; the reporter draws it again at its next tick.
    public static func writeLine(_ text: String) {
        clearProgress()
        writeRaw(text + "\n")
    }

    private static func writeRaw(_ text: String) {
        var line = text
        line.withUTF8 { buf in
            var p = buf.baseAddress!
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(2, p, left)
                if n <= 0 { break }
                p += n
                left -= n
            }
        }
    }
}

/// `--log-format`: `text` for people, `json` for log collectors.
public enum LogFormat: Int, Sendable {
    case text
    case json

    public init?(name: String) {
        switch name {
        case "text": self = .text
        case "json": self = .json
        default: return nil
        }
    }
}

/// Writes swift-log records to stderr: the message alone (text), or `{"ts","level","logger","message",…}`.
public struct RunLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let text = event.message.description
        switch RunLog.format {
        case .text:
            RunLog.writeLine(text)
        case .json:
            // The level says it: no `error: ` / `warning: ` in front of the message.
            var text = Substring(text)
            for prefix in ["error: ", "warning: "] where text.hasPrefix(prefix) { text = text.dropFirst(prefix.count) }
            var doc: [String: String] = [
                "ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue, "logger": label,
                "message": String(text),
            ]
            for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { doc[k] = "\(v)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let line = (try? encoder.encode(doc)).map { String(decoding: $0, as: UTF8.self) } ?? String(text)
            RunLog.writeLine(line)
        }
    }
}

/// A file appended to from several threads (JSON lines: late rows, summaries).
public final class AppendFile: Sendable {
    private let file: Mutex<FileBox?>
    public let path: String

    struct FileBox: @unchecked Sendable { let f: UnsafeMutablePointer<FILE> }

    public init(path: String) {
        self.path = path
        file = Mutex(fopen(path, "a").map(FileBox.init))
        if file.withLock({ $0 == nil }) {
            RunLog.write("warning: cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    public func append(_ bytes: [UInt8]) {
        file.withLock { box in
            guard let f = box?.f else { return }
            bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fflush(f)
        }
    }

    deinit { file.withLock { box in if let f = box?.f { fclose(f) } } }
}

extension Int64 {
    /// `1.2M`, `850k`: short counts for the progress line.
    public var short: String {
        let v = Double(self)
        if abs(v) >= 1e9 { return String(format1(v / 1e9)) + "G" }
        if abs(v) >= 1e6 { return String(format1(v / 1e6)) + "M" }
        if abs(v) >= 1e3 { return String(format1(v / 1e3)) + "k" }
        return String(self)
    }
}

/// One decimal place, without a trailing `.0`.
public func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
}
