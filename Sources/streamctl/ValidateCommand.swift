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

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
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
              streamctl graph examples/orders.yaml --status --format svg -o orders.svg

            --status colours each node by the back pressure the running job
            (`run --http`) reports: green none, orange at least 100 ms/s,
            red at least 500 ms/s. --format svg/png runs Graphviz's `dot`.
            """)

    @Argument(help: "Pipeline file (YAML).")
    var file: String

    @Option(help: "Profile whose parallelism to show (default: the pipeline's initial profile).")
    var profile: String?

    @Flag(help: "Colour the nodes by the running job's back pressure (from its control endpoint).")
    var status = false

    @Option(help: "With --status: the control endpoint's URL instead of the one in <state.dir>/control.json.")
    var url: String?

    @Option(help: "dot (default), svg or png; svg and png need Graphviz (`make setup` installs it).")
    var format: String = "dot"

    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.")
    var output: String?

    func validate() throws {
        guard ["dot", "svg", "png"].contains(format) else {
            throw ValidationError("--format takes dot, svg or png, not `\(format)`")
        }
    }

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        let (spec, p) = try loadPipeline(file, profile: profile)
        var decorations: [String: JobGraphDOT.Decoration] = [:]
        var profileToDraw = p
        if status {
            var locator = try JobLocator.parse([file])
            locator.url = url
            let s = try locator.status(try locator.client())
            decorations = GraphStatus.decorations(s)
            // Parallelism as the job runs it, not as the file says.
            for stage in s.stages { profileToDraw.operatorParallelism[stage.id] = stage.parallelism }
        }
        let dot = JobGraphDOT.render(spec, profile: profileToDraw, decorations: decorations)
        try GraphRender.write(dot, format: format, to: output)
    }
}
