import CoreMetrics
import Prometheus
import StreamCore
import Synchronization

/// Renders `/metrics`: the status document recorded through swift-metrics into a registry of its own, emitted
/// by swift-prometheus as Prometheus text. Names follow Prometheus' conventions: `streamctl_` prefix, base
/// units (`_seconds`, `_bytes`), `_total` on counters, what varies in labels (stage, worker, state).
public final class PrometheusExport: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    struct Books {
        /// What each counter series was last raised to: swift-metrics counters only go up by increments.
        var counters: [String: Double] = [:]
        /// The gauge series of the last render and of this one, so a series that went (the profile left,
        /// a partition handed elsewhere) is removed instead of keeping its last value.
        var gauges: [String: (String, [(String, String)])] = [:]
        var gaugesNow: [String: (String, [(String, String)])] = [:]
    }
    // One render at a time: the books and the registry's contents belong together.
    private let books = Mutex<Books>(Books())

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Records `status` and returns the whole registry as Prometheus text.
    public func render(_ status: JobStatus) -> String {
        books.withLock { b in
            b.gaugesNow = [:]
            record(status, &b)
            for (key, (name, labels)) in b.gauges where b.gaugesNow[key] == nil {
                Gauge(label: name, dimensions: labels, factory: factory).destroy()
            }
            b.gauges = b.gaugesNow
            return registry.emitToString()
        }
    }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + labels.map { "|\($0.0)=\($0.1)" }.joined()
    }

    private func gauge(_ b: inout Books, _ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        b.gaugesNow[Self.key(name, labels)] = (name, labels)
        Gauge(label: name, dimensions: labels, factory: factory).record(value)
    }

    private func counter(_ b: inout Books, _ name: String, _ labels: [(String, String)] = [], _ total: Double) {
        let key = Self.key(name, labels)
        let delta = total - (b.counters[key] ?? 0)
        if delta > 0 { b.counters[key] = total }
        let c = FloatingPointCounter(label: name, dimensions: labels, factory: factory)
        // Created at zero on first sight, so the series exists before it moves.
        if delta > 0 { c.increment(by: delta) }
    }

    private func record(_ s: JobStatus, _ b: inout Books) {
        func gauge(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
            self.gauge(&b, name, labels, value)
        }
        func counter(_ name: String, _ labels: [(String, String)] = [], _ total: Double) {
            self.counter(&b, name, labels, total)
        }
        let job = [("pipeline", s.pipeline)]
        gauge("streamctl_up", job, s.running ? 1 : 0)
        gauge("streamctl_uptime_seconds", job, s.uptimeSeconds)
        gauge("streamctl_profile_info", job + [("profile", s.profile)], 1)
        counter("streamctl_profile_switches_total", job, Double(s.profileSwitches))
        gauge("streamctl_source_lag_rows", job, Double(s.lag))

        for w in s.workers {
            let l = [("stage", w.stage), ("worker", String(w.worker))]
            counter("streamctl_worker_rows_in_total", l, Double(w.rowsIn))
            counter("streamctl_worker_rows_out_total", l, Double(w.rowsOut))
            counter("streamctl_worker_late_rows_total", l, Double(w.lateRows))
            for (state, ms) in [
                ("busy", w.busyMsPerSecond), ("idle", w.idleMsPerSecond), ("back_pressured", w.backPressuredMsPerSecond),
            ] {
                gauge("streamctl_worker_time_ms_per_second", l + [("state", state)], ms)
            }
            gauge("streamctl_worker_rows_per_second", l + [("direction", "in")], w.rowsInPerSecond)
            gauge("streamctl_worker_rows_per_second", l + [("direction", "out")], w.rowsOutPerSecond)
            gauge("streamctl_worker_input_fill_ratio", l, w.inputFill)
            gauge("streamctl_worker_back_pressured", l, w.backPressured ? 1 : 0)
            if let wm = w.watermarkMs { gauge("streamctl_worker_watermark_seconds", l, Double(wm) / 1000) }
            for (name, value) in w.figures.sorted(by: { $0.key < $1.key }) {
                recordFigure(name, value, labels: l, &b)
            }
        }
        recordOperations(s, &b)
        for (name, value) in s.state.sorted(by: { $0.key < $1.key }) {
            let property = [("property", name)]
            // RocksDB's memory properties are bytes; the rest (key estimates, …) are plain counts.
            if name.hasPrefix("estimate-num") {
                gauge("streamctl_state_property", property, Double(value))
            } else {
                gauge("streamctl_state_property_bytes", property, Double(value))
            }
        }
        let m = s.memory
        for (kind, bytes) in [
            ("allocated", m.allocatedBytes), ("active", m.activeBytes), ("resident", m.residentBytes),
            ("mapped", m.mappedBytes),
        ] {
            if let bytes { gauge("streamctl_jemalloc_bytes", [("kind", kind)], Double(bytes)) }
        }
        gauge("streamctl_process_resident_bytes", [], Double(m.processResidentBytes))
        if let budget = m.budgetBytes { gauge("streamctl_memory_budget_bytes", [], Double(budget)) }
        if let ratio = m.budgetUsedRatio { gauge("streamctl_memory_budget_used_ratio", [], ratio) }
    }

    /// Partitions, checkpoints, the last profile switch and bad records.
    private func recordOperations(_ s: JobStatus, _ b: inout Books) {
        for p in s.partitions {
            let l = [("topic", p.topic), ("partition", String(p.partition))]
            if let lag = p.lagRows { gauge(&b, "streamctl_source_partition_lag_rows", l, Double(lag)) }
            if let t = p.eventTimeLagSeconds { gauge(&b, "streamctl_source_partition_event_time_lag_seconds", l, t) }
            if let wm = p.watermarkMs { gauge(&b, "streamctl_source_partition_watermark_seconds", l, Double(wm) / 1000) }
        }
        if let c = s.checkpoints {
            for (result, n) in [("completed", c.completed), ("failed", c.failed - c.aborted), ("aborted", c.aborted)] {
                counter(&b, "streamctl_checkpoints_total", [("result", result)], Double(n))
            }
            if let v = c.lastId { gauge(&b, "streamctl_checkpoint_last_completed_id", [], Double(v)) }
            if let v = c.lastDurationSeconds { gauge(&b, "streamctl_checkpoint_last_duration_seconds", [], v) }
            if let v = c.lastPauseSeconds { gauge(&b, "streamctl_checkpoint_last_pause_seconds", [], v) }
            if let v = c.lastSizeBytes { gauge(&b, "streamctl_checkpoint_last_size_bytes", [], Double(v)) }
            if let v = c.lastCopiedBytes { gauge(&b, "streamctl_checkpoint_last_copied_bytes", [], Double(v)) }
        }
        if let sw = s.lastProfileSwitch {
            gauge(&b, "streamctl_profile_last_switch_pause_seconds", [], sw.pauseSeconds)
            gauge(&b, "streamctl_profile_last_switch_applied_seconds", [], sw.appliedSeconds)
        }
        if let bad = s.badRecords {
            let family = bad.policy == "dead_letter" ? "streamctl_dead_letters_total" : "streamctl_bad_records_skipped_total"
            // Every reason from the start, so a rate over the series is defined before the first bad record.
            for reason in DecodeError.reasons {
                counter(&b, family, [("reason", reason)], Double(bad.byReason[reason] ?? 0))
            }
        }
    }

    /// A figure an operator or connector reports, under the name its meaning calls for.
    private func recordFigure(_ name: String, _ value: Int64, labels: [(String, String)], _ b: inout Books) {
        func gauge(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
            self.gauge(&b, name, labels, value)
        }
        func counter(_ name: String, _ labels: [(String, String)] = [], _ total: Double) {
            self.counter(&b, name, labels, total)
        }
        let v = Double(value)
        switch name {
        case "lag": gauge("streamctl_source_worker_lag_rows", labels, v)
        case "throttled_ms": counter("streamctl_sink_throttled_seconds_total", labels, v / 1000)
        case "open_buckets": gauge("streamctl_sink_open_buckets", labels, v)
        case "rows_written": counter("streamctl_sink_rows_written_total", labels, v)
        case "bytes_written": counter("streamctl_sink_written_bytes_total", labels, v)
        case "files_committed": counter("streamctl_sink_files_committed_total", labels, v)
        case "data_loss_offsets": counter("streamctl_source_data_loss_offsets_total", labels, v)
        case "kafka_prefetch_bound_bytes": gauge("streamctl_source_kafka_prefetch_bound_bytes", labels, v)
        case "open_windows", "buffered_windows":
            gauge("streamctl_operator_\(name)", labels, v)
        default:
            // Everything else an operator counts (windows fired, cache hits, …) only grows.
            counter("streamctl_operator_\(Self.metricName(name))_total", labels, v)
        }
    }

    static func metricName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber ? Character($0.lowercased()) : "_" })
    }
}
