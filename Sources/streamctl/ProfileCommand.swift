import ArgumentParser
import Foundation
import StreamControl
import StreamCore
import StreamRunner

/// `streamctl profile set|show` and `streamctl savepoint`: act on a running job through its control endpoint.
struct ProfileControl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Show or switch the profile of a running job (`run --http`).",
        discussion: """
            Examples:
              streamctl profile show examples/orders.yaml
              streamctl profile set examples/orders.yaml seasonal --reason "black friday"
            """,
        subcommands: [Show.self, Set.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The running job's profile and its switches.")
        @OptionGroup var job: JobLocator
        @OptionGroup var logging: LogOptions

        func run() throws {
            logging.apply()
            print(try call(job, "GET", "/profile"))
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch the running job to a profile: knobs at once, parallelism at a barrier.")
        @OptionGroup var job: JobLocator
        @Argument(help: "backfill, steady, seasonal or a profile file's name.")
        var name: String
        @Option(help: "Why, for the log.")
        var reason: String?
        @OptionGroup var logging: LogOptions

        func run() throws {
            logging.apply()
            var path = "/profile?name=\(escape(name))"
            if let reason { path += "&reason=\(escape(reason))" }
            print(try call(job, "POST", path, timeoutMs: 600_000))
        }
    }
}

struct Savepoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take a savepoint of a running job (`run --http`): a checkpoint now, copied whole to DIR.",
        discussion: """
            Example:
              streamctl savepoint examples/orders.yaml --dir savepoints/orders-2026-12-01
            Restore it with `streamctl run PIPELINE --from-savepoint DIR`, at any parallelism.
            """)
    @OptionGroup var job: JobLocator
    @Option(help: "Where the savepoint goes.")
    var dir: String
    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let absolute = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
        print(try call(job, "POST", "/savepoint?dir=\(escape(absolute))", timeoutMs: 600_000))
    }
}

private func escape(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? s
}

/// Sends one request to the job; prints the endpoint's error and exits 2 (bad request) or 69 (no job, refused).
private func call(_ job: JobLocator, _ method: String, _ path: String, timeoutMs: Int64 = 5000) throws -> String {
    let client = try job.client()
    let answer: (status: Int, body: [UInt8])
    do throws(ControlError) {
        answer = try client.send(method, path, timeoutMs: timeoutMs)
    } catch {
        log("error: \(error.message)")
        throw ExitCode(Exit.brokerUnavailable.rawValue)
    }
    let text = String(decoding: answer.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard answer.status == 200 else {
        log("error: \(text)")
        throw ExitCode(answer.status == 400 ? Exit.config.rawValue : Exit.brokerUnavailable.rawValue)
    }
    return text
}
