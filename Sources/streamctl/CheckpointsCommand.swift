import ArgumentParser
import StreamCore
import StreamRunner

/// `streamctl checkpoints list|inspect`: what a checkpoints directory holds.
struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or inspect the checkpoints of a pipeline.",
        discussion: """
            Examples:
              streamctl checkpoints list checkpoints/orders
              streamctl checkpoints inspect checkpoints/orders 42
            """,
        subcommands: [List.self, Inspect.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per completed checkpoint, newest first.")
        @Argument(help: "The checkpoints directory (`checkpoints.dir` of the pipeline).")
        var directory: String

        @OptionGroup var logging: LogOptions

        func run() throws {
            logging.apply()
            print(CheckpointReport.list(CheckpointStore(root: directory)), terminator: "")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Positions, watermarks, state files and published output of one checkpoint; checks its files.")
        @Argument(help: "The checkpoints directory.")
        var directory: String
        @Argument(help: "The checkpoint id (see `list`).")
        var id: Int64

        @OptionGroup var logging: LogOptions

        func run() throws {
            logging.apply()
            do throws(StreamError) {
                print(try CheckpointReport.inspect(CheckpointStore(root: directory), id: id), terminator: "")
            } catch {
                log("error: \(error.message)")
                throw ExitCode(Exit(error).rawValue)
            }
        }
    }
}
