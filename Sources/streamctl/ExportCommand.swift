import ArgumentParser
import Foundation
import StreamExport
import StreamPipeline

/// Hands a pipeline to another engine: `export flink-sql`.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Translate a pipeline for another engine.",
        subcommands: [FlinkSQLExportCommand.self])
}

/// Prints (or writes) the pipeline as one Flink SQL script.
struct FlinkSQLExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flink-sql",
        abstract: "Print the pipeline as a Flink SQL script: SET lines for the profile, tables, views, INSERT.",
        discussion: """
            What Flink would do differently is an error with file:line:column (exit 2) or a
            `-- differs:` comment in the script. See docs/scaling.md.

            Examples:
              streamctl export flink-sql examples/file-source.yaml
              streamctl export flink-sql examples/orders.yaml --profile backfill --brokers kafka:9092 -o orders.sql
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "Profile whose knobs become SET lines (default: the pipeline's initial profile).")
    var profile: String?

    @Option(help: "Bootstrap servers to use where the pipeline says `brokers: embedded`.")
    var brokers: String?

    @Option(name: .shortAndLong, help: "Write the script to this file instead of stdout.")
    var output: String?

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let (spec, p) = try loadPipeline(file, profile: profile)
        let script: String
        do throws(PipelineErrors) {
            script = try FlinkSQLExport.script(for: spec, profile: p, options: FlinkExportOptions(brokers: brokers))
        } catch {
            log(error.rendered)
            throw ExitCode(Exit.config.rawValue)
        }
        guard let output else {
            print(script, terminator: "")
            return
        }
        do {
            try script.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            log("error: cannot write \(output): \(error.localizedDescription)")
            throw ExitCode(Exit.io.rawValue)
        }
    }
}
