import ArgumentParser
import StreamCore

/// The command line: parses, then calls the modules.
@main
struct Streamctl: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "streamctl",
        abstract: "Run a stateful stream pipeline in one process: Kafka in, keyed windows, files/Kafka/stdout out.",
        // Every line stays under 80 columns: the help text wraps at the terminal's width.
        discussion: """
            Examples:
              streamctl validate examples/*.yaml
              streamctl graph examples/orders.yaml | dot -Tsvg > orders.svg
              streamctl run examples/orders.yaml --generate 1000000 --until caught-up
              streamctl dev-broker --topic orders:8 --generate 100000

            Exit codes (docs/operations.md):
              0 ok                       5 state of an earlier run in state.dir
              1 failure (a bug)          6 output of an earlier run in the way
              2 configuration error      7 state.dir held by another streamctl
              3 still behind at end      8 smoke: output differs
              4 too many late rows      65 bad record (on_bad_record: fail)
             69 Kafka unreachable, or   74 I/O or state error
                no running job (status) 75 checkpoint failure
            130 second signal while draining
            """,
        version: version,
        subcommands: [
            Validate.self, Graph.self, Run.self, Status.self, Top.self, ProfileControl.self, Profiles.self, Savepoint.self, Smoke.self,
            Checkpoints.self, DevBroker.self, Info.self, Bench.self, Export.self,
        ]
    )
}
