import StreamCore
import Yams

/// The knobs of a profile file or of `profiles.overrides.NAME`, with the "turned off" settings that
/// `ProfileOverrides` cannot express (an unthrottled sink, no watermark alignment).
struct ProfileKnobs: Sendable {
    var overrides = ProfileOverrides()
    var unlimitedRecords = false
    var unlimitedBytes = false
    var driftOff = false

    /// The knobs this sets, by their names in `Profile.knobs`.
    var setKnobs: Set<String> {
        var names = overrides.setKnobs
        if unlimitedRecords { names.insert("sink.records_per_second") }
        if unlimitedBytes { names.insert("sink.bytes_per_second") }
        if driftOff { names.insert("watermark.max_drift") }
        return names
    }

    func apply(to base: Profile) -> Profile {
        var p = base.applying(overrides)
        if unlimitedRecords { p.sinkRecordsPerSecond = nil }
        if unlimitedBytes { p.sinkBytesPerSecond = nil }
        if driftOff { p.watermarkMaxDriftMs = nil }
        return p
    }

    static let topKeys = [
        "parallelism", "operator_parallelism", "batch_size", "channel_capacity", "checkpoint", "kafka", "sink",
        "flush_latency", "watermark",
    ]

    /// Reads knobs at `path`; `allowOff` permits `unlimited`/`off` (profile files only).
    static func read(_ node: Node, path: String, checker c: Checker, allowOff: Bool) -> ProfileKnobs? {
        guard let e = c.mapping(node, path, allowed: topKeys) else { return nil }
        let before = c.errors.count
        var k = ProfileKnobs()
        if let n = e["parallelism"] {
            k.overrides.parallelism = c.int(n, e.sub("parallelism"), min: 1, max: Bounds.parallelism)
        }
        if let n = e["operator_parallelism"], let pairs = c.pairs(n, e.sub("operator_parallelism")) {
            for (id, _, v) in pairs {
                if let p = c.int(v, "\(e.sub("operator_parallelism")).\(id)", min: 1, max: Bounds.parallelism) {
                    k.overrides.operatorParallelism[id] = p
                }
            }
        }
        if let n = e["batch_size"] {
            k.overrides.batchSize = c.int(n, e.sub("batch_size"), min: 1, max: Bounds.batchSize)
        }
        if let n = e["channel_capacity"] {
            k.overrides.channelCapacity = c.int(n, e.sub("channel_capacity"), min: 1, max: Bounds.channelCapacity)
        }
        if let n = e["flush_latency"] { k.overrides.flushLatencyMs = c.duration(n, e.sub("flush_latency")) }
        if let n = e["checkpoint"] {
            let keys = ["interval", "timeout", "min_pause", "incremental", "tolerable_failures"]
            if let m = c.mapping(n, e.sub("checkpoint"), allowed: keys) {
                if let v = m["interval"] {
                    k.overrides.checkpointIntervalMs = c.duration(v, m.sub("interval"), positive: true)
                }
                if let v = m["timeout"] {
                    k.overrides.checkpointTimeoutMs = c.duration(v, m.sub("timeout"), positive: true)
                }
                if let v = m["min_pause"] { k.overrides.checkpointMinPauseMs = c.duration(v, m.sub("min_pause")) }
                if let v = m["incremental"] { k.overrides.checkpointIncremental = c.bool(v, m.sub("incremental")) }
                if let v = m["tolerable_failures"] {
                    k.overrides.checkpointTolerableFailures = c.int(v, m.sub("tolerable_failures"), min: 0)
                }
            }
        }
        let kafkaKeys = ["fetch_max_bytes", "queued_max_kbytes", "fetch_wait_max", "fetch_min_bytes"]
        if let n = e["kafka"], let m = c.mapping(n, e.sub("kafka"), allowed: kafkaKeys) {
            if let v = m["fetch_max_bytes"], let bytes = c.size(v, m.sub("fetch_max_bytes"), positive: true) {
                if bytes > Int64(Int32.max) {
                    c.report(v, "`\(m.sub("fetch_max_bytes"))` is above librdkafka's limit of 2147483647 bytes")
                } else {
                    k.overrides.kafkaFetchMaxBytes = Int(bytes)
                }
            }
            if let v = m["queued_max_kbytes"] {
                k.overrides.kafkaQueuedMaxKBytes = c.int(v, m.sub("queued_max_kbytes"), min: 1)
            }
            // librdkafka's own ranges: fetch.wait.max.ms 0…300000, fetch.min.bytes 1…100000000.
            if let v = m["fetch_wait_max"], let ms = c.duration(v, m.sub("fetch_wait_max")) {
                if ms > 300_000 {
                    c.report(v, "`\(m.sub("fetch_wait_max"))` is above librdkafka's limit of 5m (300000ms)")
                } else {
                    k.overrides.kafkaFetchWaitMaxMs = ms
                }
            }
            if let v = m["fetch_min_bytes"],
                let bytes = c.size(v, m.sub("fetch_min_bytes"), positive: true, max: 100_000_000)
            {
                k.overrides.kafkaFetchMinBytes = Int(bytes)
            }
        }
        let sinkKeys = ["records_per_second", "bytes_per_second", "max_open", "linger", "batch_bytes"]
        if let n = e["sink"], let m = c.mapping(n, e.sub("sink"), allowed: sinkKeys) {
            if let v = m["records_per_second"] {
                if isOff(v, c) {
                    k.unlimitedRecords = offAllowed(v, m.sub("records_per_second"), allowOff, c)
                } else {
                    k.overrides.sinkRecordsPerSecond = c.int(v, m.sub("records_per_second"), min: 1)
                }
            }
            if let v = m["bytes_per_second"] {
                if isOff(v, c) {
                    k.unlimitedBytes = offAllowed(v, m.sub("bytes_per_second"), allowOff, c)
                } else {
                    k.overrides.sinkBytesPerSecond = c.size(v, m.sub("bytes_per_second"), positive: true)
                }
            }
            if let v = m["max_open"] { k.overrides.sinkMaxOpen = c.int(v, m.sub("max_open"), min: 1) }
            // librdkafka's ranges: linger.ms 0…900000, batch.size 1…2147483647.
            if let v = m["linger"], let ms = c.duration(v, m.sub("linger")) {
                if ms > 900_000 {
                    c.report(v, "`\(m.sub("linger"))` is above librdkafka's limit of 15m (900000ms)")
                } else {
                    k.overrides.sinkLingerMs = ms
                }
            }
            if let v = m["batch_bytes"],
                let bytes = c.size(v, m.sub("batch_bytes"), positive: true, max: Int64(Int32.max))
            {
                k.overrides.sinkBatchBytes = Int(bytes)
            }
        }
        if let n = e["watermark"], let m = c.mapping(n, e.sub("watermark"), allowed: ["max_drift"]),
            let v = m["max_drift"]
        {
            if isOff(v, c) {
                k.driftOff = offAllowed(v, m.sub("max_drift"), allowOff, c)
            } else {
                k.overrides.watermarkMaxDriftMs = c.duration(v, m.sub("max_drift"), positive: true)
            }
        }
        return c.errors.count == before ? k : nil
    }

    /// The line of every knob set under `node` (a profile file's root or a pipeline's overrides), by the
    /// knob's name in `Profile.knobs`.
    static func lines(of node: Node) -> [String: Int] {
        guard let map = node.mapping else { return [:] }
        var out: [String: Int] = [:]
        for (key, value) in map {
            guard let name = key.scalar?.string else { continue }
            if ["checkpoint", "kafka", "sink", "watermark"].contains(name), let sub = value.mapping {
                for (k, _) in sub { if let n = k.scalar?.string { out["\(name).\(n)"] = k.mark?.line ?? 0 } }
            } else {
                out[name] = key.mark?.line ?? 0
            }
        }
        return out
    }

    private static func isOff(_ node: Node, _ c: Checker) -> Bool {
        c.isNull(node) || ["off", "unlimited"].contains(node.scalar?.string ?? "")
    }

    private static func offAllowed(_ node: Node, _ path: String, _ allowOff: Bool, _ c: Checker) -> Bool {
        if !allowOff {
            c.report(
                node, "`\(path)` cannot be turned off in a pipeline's overrides",
                help: "set a value here, or write a profile file that turns it off")
        }
        return allowOff
    }
}
