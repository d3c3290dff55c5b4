import ArgumentParser
import StreamCore
import StreamKafka
import StreamRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the embedded Kafka broker for outside clients (kcat, another streamctl).
struct DevBroker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Start an in-process Kafka broker (librdkafka's mock cluster) and print its bootstrap address.",
        discussion: """
            Examples:
              streamctl dev-broker --topic orders:8
              streamctl dev-broker --topic orders:64 --load orders.jsonl --load-key shop
              streamctl dev-broker --topic orders:64 --generate 2000000

            The mock cluster keeps at most 5 MiB or 100,000 message sets per partition and silently drops
            the oldest beyond that; --load and --generate refuse a fill that would not fit (use more partitions
            with --topic NAME:N).
            Runs until interrupted; with --exit-after it stops by itself.
            """)

    @Option(help: "Topic to create as NAME:PARTITIONS (repeatable).")
    var topic: [String] = []

    @Option(help: "Load this JSON-lines file into the first topic.")
    var load: String?

    @Option(help: "The JSON field whose value keys loaded messages (the same flag as on `run`).")
    var loadKey: String?

    @Option(help: "Generate this many orders into the first topic.")
    var generate: Int?

    @Option(help: "Stop after this many seconds (for scripts).")
    var exitAfter: Int?

    @Option(help: "Also write the bootstrap address to this file once the broker is ready (for scripts).")
    var addressFile: String?

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        StopSignals.install()
        do {
            let broker = try EmbeddedBroker()
            var topics: [(String, Int)] = []
            for t in topic {
                let parts = t.split(separator: ":")
                guard parts.count <= 2, let name = parts.first.map(String.init),
                    let n = parts.count == 2 ? Int(parts[1]) : 1, n > 0
                else {
                    log("error: --topic takes NAME or NAME:PARTITIONS, not `\(t)`")
                    throw ExitCode(Exit.config.rawValue)
                }
                try broker.createTopic(name, partitions: n)
                topics.append((name, n))
            }
            if let loadKey {
                guard let load else {
                    log("error: --load-key keys the messages of --load FILE; generated orders are keyed by order_id")
                    throw ExitCode(Exit.config.rawValue)
                }
                guard EmbeddedBroker.firstRecord(ofJSONLines: load, hasField: loadKey) else {
                    log("error: --load-key `\(loadKey)`: the first record of \(load) has no field `\(loadKey)`")
                    throw ExitCode(Exit.config.rawValue)
                }
            }
            if let first = topics.first {
                if let load {
                    let n = try broker.load(jsonLines: load, topic: first.0, keyField: loadKey)
                    log("loaded \(n) rows into \(first.0)")
                }
                if let generate {
                    let n = try OrdersFiller.fill(broker: broker, topic: first.0, rows: generate, partitions: first.1)
                    log("generated \(n) orders into \(first.0)")
                }
            } else if load != nil || generate != nil {
                log("error: --load and --generate need a --topic")
                throw ExitCode(Exit.config.rawValue)
            }
            print(broker.bootstrapServers)
            fflushStdout()
            if let addressFile {
                // Written to a temporary name and renamed, so a reader never sees half an address.
                let temp = addressFile + ".tmp"
                AppendFile(path: temp).append(Array((broker.bootstrapServers + "\n").utf8))
                guard rename(temp, addressFile) == 0 else {
                    log("error: cannot write \(addressFile): \(String(cString: strerror(errno)))")
                    throw ExitCode(Exit.io.rawValue)
                }
            }
            var waited = 0
            while !StopSignals.requested {
                sleepMs(100)
                waited += 100
                if let e = exitAfter, waited >= e * 1000 { break }
            }
        } catch let error as StreamError {
            log("error: \(error.message)")
            throw ExitCode(Exit(error).rawValue)
        }
    }
}
