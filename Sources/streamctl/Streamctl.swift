import ArgumentParser
import StreamCore

/// The command line: parses, then calls the modules.
@main
struct Streamctl: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "streamctl",
        abstract: "Run a stateful stream pipeline in one process: Kafka in, keyed windows, files/Kafka/stdout out.",
        discussion: """
            Examples:
              streamctl validate examples/orders.yaml
              streamctl graph examples/orders.yaml | dot -Tsvg > orders.svg
              streamctl run examples/orders.yaml --generate 1000000 --until caught-up
              streamctl dev-broker --topic orders:8 --load examples/data/orders-sample.jsonl

            Exit codes: 0 ok, 1 failure, 2 configuration error, 3 still behind at --max-duration,
            65 bad record (on_bad_record: fail), 69 Kafka unreachable, 74 I/O or state error,
            75 checkpoint failure. See docs/operations.md.
            """,
        version: version,
        subcommands: [Validate.self, Graph.self, Run.self, DevBroker.self, Info.self, Bench.self, Export.self]
    )
}
