import ArgumentParser
import Foundation
import StreamCore
import StreamPipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One line on stderr: logs, progress and warnings never mix with rows on stdout.
func log(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { buf in
        var p = buf.baseAddress!
        var left = buf.count
        while left > 0 {
            let n = write(2, p, left)
            if n <= 0 { break }
            p += n
            left -= n
        }
    }
}

/// A JSON-lines file appended to from several threads.
final class AppendFile: Sendable {
    private let file: Mutex<FileBox?>
    let path: String

    struct FileBox: @unchecked Sendable { let f: UnsafeMutablePointer<FILE> }

    init(path: String) {
        self.path = path
        file = Mutex(fopen(path, "a").map(FileBox.init))
        if file.withLock({ $0 == nil }) { log("warning: cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    func append(_ bytes: [UInt8]) {
        file.withLock { box in
            guard let f = box?.f else { return }
            bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fflush(f)
        }
    }

    deinit { file.withLock { box in if let f = box?.f { fclose(f) } } }
}

/// The first SIGINT/SIGTERM asks the job to stop cleanly; a second one exits at once.
enum StopSignals {
    nonisolated(unsafe) static var count: sig_atomic_t = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            StopSignals.count += 1
            if StopSignals.count >= 2 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGPIPE, SIG_IGN)
    }

    static var requested: Bool { count > 0 }
}

func sleepMs(_ ms: Int) { usleep(UInt32(ms) * 1000) }

extension Int64 {
    /// `1.2M`, `850k`: short counts for the progress line.
    var short: String {
        let v = Double(self)
        if abs(v) >= 1e9 { return String(format1(v / 1e9)) + "G" }
        if abs(v) >= 1e6 { return String(format1(v / 1e6)) + "M" }
        if abs(v) >= 1e3 { return String(format1(v / 1e3)) + "k" }
        return String(self)
    }
}

func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
}

func fflushStdout() { fflush(nil) }

/// Loads a pipeline and resolves its profile; prints every error and maps it to exit code 2.
func loadPipeline(_ file: String, profile name: String?) throws(ExitCode) -> (spec: PipelineSpec, profile: Profile) {
    do throws(PipelineErrors) {
        return try PipelineLoader.loadResolved(path: file, profile: name)
    } catch {
        log(render(error))
        throw ExitCode(Exit.config.rawValue)
    }
}

/// Every error with the offending line of its file and a caret under the column, as compilers print them.
func render(_ errors: PipelineErrors) -> String {
    var linesByFile: [String: [Substring]] = [:]
    return errors.errors.map { e -> String in
        var text = "\(e.file):\(e.line):\(e.column): error: \(e.message)"
        if e.line == 0 { text = "\(e.file): error: \(e.message)" }
        if e.line > 0 {
            if linesByFile[e.file] == nil {
                let content = (try? String(contentsOfFile: e.file, encoding: .utf8)) ?? ""
                linesByFile[e.file] = content.split(separator: "\n", omittingEmptySubsequences: false)
            }
            if let lines = linesByFile[e.file], e.line <= lines.count {
                let source = lines[e.line - 1]
                text += "\n    " + source + "\n    " + String(repeating: " ", count: max(0, e.column - 1)) + "^"
            }
        }
        if let help = e.help { text += "\n  help: \(help)" }
        return text
    }.joined(separator: "\n")
}
