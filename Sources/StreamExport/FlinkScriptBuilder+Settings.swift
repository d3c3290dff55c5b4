import StreamCore

extension FlinkScriptBuilder {
    /// The profile's knobs that Flink has, as `SET` statements; the rest as comments saying why they stay out.
    func addSettings() {
        set("pipeline.name", spec.name)
        set("table.local-time-zone", "UTC", note: "streamctl's timestamps, windows and bucket paths are in UTC.")
        set(
            "pipeline.generic-types", "false",
            note: "No Kryo fallback: a type Flink cannot serialize natively is an error, as in streamctl.")
        set("parallelism.default", String(profile.parallelism))
        set("execution.checkpointing.interval", FlinkSQL.duration(ms: profile.checkpointIntervalMs))
        set("execution.checkpointing.timeout", FlinkSQL.duration(ms: profile.checkpointTimeoutMs))
        set("execution.checkpointing.min-pause", FlinkSQL.duration(ms: profile.checkpointMinPauseMs))
        set("execution.checkpointing.tolerable-failed-checkpoints", String(profile.checkpointTolerableFailures))
        set("execution.checkpointing.incremental", profile.checkpointIncremental ? "true" : "false")
        if spec.checkpoints.dir.contains("://") {
            set("execution.checkpointing.dir", spec.checkpoints.dir)
        } else {
            // A Flink cluster needs storage every TaskManager reaches, named by a URI.
            comment(
                "differs: checkpoints.dir `\(spec.checkpoints.dir)` is a local path; set "
                    + "'execution.checkpointing.dir' to the cluster's shared storage (a URI such as s3://... or hdfs://...)."
            )
        }
        set("execution.checkpointing.num-retained", String(spec.checkpoints.retain))
        set("state.backend.type", spec.state.backend == .rocksdb ? "rocksdb" : "hashmap")
        if spec.state.backend == .rocksdb {
            set(
                "state.backend.rocksdb.memory.managed", "true",
                note: "state.memory (\(spec.state.memoryBytes >> 20) MiB) is a TaskManager setting in Flink: "
                    + "taskmanager.memory.managed.size in the cluster's config, not settable per job.")
        }
        if let idle = spec.source.eventTime?.idleTimeoutMs {
            set("table.exec.source.idle-timeout", FlinkSQL.duration(ms: idle))
        }
        let pinned = spec.operators.compactMap { op -> String? in
            let p = profile.parallelism(of: op.id, pinned: op.parallelism)
            return p == profile.parallelism ? nil : "\(op.id)=\(p)"
        }
        if !pinned.isEmpty {
            comment(
                "differs: Flink SQL sets parallelism per source and sink only; operators "
                    + pinned.joined(separator: ", ") + " run at parallelism.default.")
        }
    }

    /// `scan.parallelism` / `sink.parallelism` when the profile or the file gives the endpoint its own.
    func endpointParallelism(_ id: String, pinned: Int?) -> Int? {
        let p = profile.parallelism(of: id, pinned: pinned)
        return p == profile.parallelism && pinned == nil ? nil : p
    }
}
