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

/// `--log-format text|json`, on every command that writes diagnostics to stderr.
struct LogOptions: ParsableArguments {
    @Option(help: "Log lines on stderr: text (default) or json (one object a line; a summary line stays as is).")
    var logFormat: String = "text"

    func validate() throws {
        guard LogFormat(name: logFormat) != nil else {
            throw ValidationError("--log-format takes text or json, not `\(logFormat)`")
        }
    }

    /// Sets the format before the command logs anything.
    func apply() { RunLog.format = LogFormat(name: logFormat) ?? .text }
}

/// The first SIGINT/SIGTERM asks the job to stop cleanly; at the second the supervisor writes the summary
/// and exits 130 within its next tick; a third exits from the handler itself, in case nothing is looking.
enum StopSignals {
    nonisolated(unsafe) static var count: sig_atomic_t = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            StopSignals.count += 1
            if StopSignals.count >= 3 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may start us with these blocked (a test harness, some supervisors): they must reach us.
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGINT)
        sigaddset(&stops, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stops, nil)
        signal(SIGPIPE, SIG_IGN)
        // A parent that spawned us from a thread with signals blocked (libdispatch workers block them all)
        // passes that mask on; unblock the two we act on, or a stop request would stay pending forever.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
    }

    static var requested: Bool { count > 0 }
}

func sleepMs(_ ms: Int) { usleep(UInt32(ms) * 1000) }

func fflushStdout() { fflush(nil) }

/// Loads a pipeline and resolves its profile; prints every error and maps it to exit code 2.
func loadPipeline(_ file: String, profile name: String?) throws(ExitCode) -> (spec: PipelineSpec, profile: Profile) {
    do throws(PipelineErrors) {
        return try PipelineLoader.loadResolved(path: file, profile: name)
    } catch {
        log(error.rendered)
        throw ExitCode(Exit.config.rawValue)
    }
}
