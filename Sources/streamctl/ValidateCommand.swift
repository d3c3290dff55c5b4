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
                let spec = try PipelineLoader.load(path: file)
                let name = profile ?? spec.profiles.initial
                _ = try ProfileLoader.resolve(
                    name: name, spec: spec,
                    searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: file))
                print("\(file): ok (\(spec.operators.count) operators, profile \(name))")
            } catch let errors as PipelineErrors {
                failed = true
                log(errors.description)
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
        do {
            let spec = try PipelineLoader.load(path: file)
            let p = try ProfileLoader.resolve(
                name: profile ?? spec.profiles.initial, spec: spec,
                searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: file))
            print(JobGraphDOT.render(spec, profile: p), terminator: "")
        } catch let errors as PipelineErrors {
            log(errors.description)
            throw ExitCode(Exit.config.rawValue)
        }
    }
}
