import ArgumentParser
import Foundation
import StreamCore
import StreamPipeline
import StreamRunner
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One line on stderr: logs, progress and warnings never mix with rows on stdout.
func log(_ message: String) { RunLog.write(message) }

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

func fflushStdout() { fflush(nil) }

/// Loads a pipeline and resolves its profile; prints every error and maps it to exit code 2.
func loadPipeline(_ file: String, profile name: String?) throws(ExitCode) -> (spec: PipelineSpec, profile: Profile) {
    do throws(PipelineErrors) {
        let spec = try PipelineLoader.load(path: file)
        let profile = try ProfileLoader.resolve(
            name: name ?? spec.profiles.initial, spec: spec,
            searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: file))
        return (spec, profile)
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
