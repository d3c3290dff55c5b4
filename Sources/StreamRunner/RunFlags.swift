import StreamCore
import StreamPipeline

/// A command-line value that is wrong, or that would do nothing for the pipeline at hand.
public struct FlagError: Error, Sendable {
    public var message: String
    init(_ message: String) { self.message = message }
}

/// Checks `run`'s flags against the pipeline and turns them into `RunOptions`.
enum RunFlags {
    static func check(_ r: RunRequest, spec: PipelineSpec, profile: inout Profile) throws(FlagError) -> RunOptions {
        if let p = r.parallelism {
            guard p >= 1, p <= 128 else { throw FlagError("--parallelism must be between 1 and 128, not \(p)") }
            profile.parallelism = p
            profile.operatorParallelism = [:]
        }
        if let n = r.maxRecords, n < 1 { throw FlagError("--max-records must be at least 1, not \(n)") }
        if let n = r.generate, n < 1 { throw FlagError("--generate must be at least 1, not \(n)") }
        if let n = r.partitions, n < 1 || n > 10_000 {
            throw FlagError("--partitions must be between 1 and 10000, not \(n)")
        }
        var deadlineMs: Int64?
        if let d = r.maxDuration {
            guard let ms = Durations.parseMs(d), ms > 0 else {
                throw FlagError("--max-duration `\(d)` is not a positive duration (e.g. 30s, 10m, 2h)")
            }
            deadlineMs = ms
        }

        let kafkaSource: KafkaSourceSpec?
        if case .kafka(let k) = spec.source.kind { kafkaSource = k } else { kafkaSource = nil }
        var bound = SourceBound.unbounded
        if let until = r.until {
            guard until == "caught-up" else { throw FlagError("--until takes `caught-up`, not `\(until)`") }
            guard kafkaSource != nil else {
                throw FlagError(
                    "--until caught-up applies to Kafka sources; this pipeline's \(sourceName(spec)) source ends "
                        + "by itself (remove the flag)")
            }
            bound = .caughtUp
        }
        // Flags that fill the embedded broker mean nothing without one.
        let embedded = kafkaSource?.brokers == "embedded"
        for (flag, given) in [
            ("--generate", r.generate != nil), ("--load", r.load != nil), ("--load-key", r.loadKey != nil),
            ("--partitions", r.partitions != nil),
        ] where given && !embedded {
            throw FlagError(
                "\(flag) fills the embedded broker's source topic, but this pipeline reads "
                    + (kafkaSource.map { "Kafka at \($0.brokers)" } ?? "a \(sourceName(spec)) source")
                    + " (remove the flag, or set `brokers: embedded`)")
        }
        if r.loadKey != nil, r.load == nil { throw FlagError("--load-key needs --load FILE") }
        if let key = r.loadKey, spec.schema.index(of: key) == nil {
            throw FlagError(
                "--load-key `\(key)` is not a field of the pipeline's schema "
                    + "(\(spec.schema.fields.map(\.name).joined(separator: ", ")))")
        }
        if r.leftovers == .append, !hasAppendableOutput(spec) {
            RunLog.write("warning: --append has no effect: this pipeline writes no file output")
        }
        if (r.savepointOnExit != nil || r.fromSavepoint != nil) && !spec.checkpoints.enabled {
            throw FlagError(
                "--savepoint-on-exit and --from-savepoint need checkpoints: add a `checkpoints:` section "
                    + "(with its `dir`) to the pipeline")
        }
        var progress = r.progress
        if let text = r.progressInterval {
            guard let ms = Durations.parseMs(text), ms >= 1000 else {
                throw FlagError("--progress-interval `\(text)` is not a duration of at least 1s (e.g. 30s)")
            }
            if case .lines = progress { progress = .lines(everyMs: ms) }
        }
        var options = RunOptions(
            maxRecords: r.maxRecords, bound: bound, maxDurationMs: deadlineMs,
            embeddedFill: EmbeddedFill(
                partitions: r.partitions ?? 8, generateRows: r.generate, loadFile: r.load, keyField: r.loadKey),
            progress: progress)
        if let n = r.restarts {
            guard n >= 0, n <= 1_000 else { throw FlagError("--restarts takes 0…1000, not \(n)") }
            options.restart.maxAttempts = n
        }
        if let d = r.restartDelay {
            guard let ms = Durations.parseMs(d), ms >= 0 else {
                throw FlagError("--restart-delay `\(d)` is not a duration (e.g. 500ms, 5s)")
            }
            options.restart.delayMs = ms
        }
        options.savepointOnExit = r.savepointOnExit
        options.fromSavepoint = r.fromSavepoint
        return options
    }

    static func sourceName(_ spec: PipelineSpec) -> String {
        switch spec.source.kind {
        case .kafka: "kafka"
        case .file: "file"
        case .generator: "generator"
        }
    }

    static func hasAppendableOutput(_ spec: PipelineSpec) -> Bool {
        if case .file = spec.sink.kind { return true }
        if case .deadLetter = spec.source.onBadRecord { return true }
        return spec.operators.contains { op in
            if case .window(let w) = op.kind { return w.lateOutput != nil }
            return false
        }
    }
}
