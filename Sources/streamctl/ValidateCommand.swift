import ArgumentParser
import StreamCore
import StreamPipeline

/// Loads and checks pipeline files; prints every error with its position.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipeline files and print every error as file:line:column.",
        discussion: """
            Examples:
              streamctl validate examples/orders.yaml
              streamctl validate examples/*.yaml

            Exits 2 when any file has an error.
            """)

    @Argument(help: "Pipeline files (YAML).")
    var files: [String]

    @Option(help: "Also resolve this profile against each file.")
    var profile: String?

    func run() throws {
        var failed = false
        for file in files {
            do {
                let (spec, p) = try loadPipeline(file, profile: profile)
                print("\(file): ok (\(spec.operators.count) operators, profile \(p.name))")
                for warning in Instances.splitKeyWarnings(spec) { log(warning) }
            } catch {
                failed = true
            }
        }
        if failed { throw ExitCode(Exit.config.rawValue) }
    }
}

/// Prints the job graph in Graphviz DOT.
struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the job graph in Graphviz DOT: one node per operator with its parallelism.",
        discussion: """
            Examples:
              streamctl graph examples/orders.yaml
              streamctl graph examples/orders.yaml --profile backfill | dot -Tsvg > orders.svg
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "Profile whose parallelism to show (default: the pipeline's initial profile).")
    var profile: String?

    func run() throws {
        let (spec, p) = try loadPipeline(file, profile: profile)
        print(JobGraphDOT.render(spec, profile: p), terminator: "")
    }
}
