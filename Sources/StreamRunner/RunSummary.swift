import StreamCore

/// The one-line JSON summary a cron job or CI step reads.
public struct RunSummary: Sendable {
    public var pipeline: String
    public var status: String
    public var error: String?
    public var profile: String
    public var snapshot: JobSnapshot
    public var lagLeft: Int64
    public var badRecords: Int
    public var durationMs: Int64
    public var output: String
    public var peakRSS: Int

    public var json: String {
        let source = snapshot.workers.filter { $0.stage == "source" }
        let sink = snapshot.workers.filter { $0.stage == "sink" }
        let late = snapshot.workers.reduce(Int64(0)) { $0 + $1.lateRows }
        var fields: [(String, String)] = [
            ("pipeline", JSONText.quote(pipeline)), ("status", JSONText.quote(status)),
            ("rows_in", String(source.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("rows_out", String(sink.reduce(Int64(0)) { $0 + $1.rowsIn })),
            ("data_loss_offsets", String(source.reduce(Int64(0)) { $0 + ($1.extra["data_loss_offsets"] ?? 0) })),
            ("late_rows", String(late)), ("bad_records", String(badRecords)), ("lag_left", String(lagLeft)),
            ("duration_ms", String(durationMs)), ("profile", JSONText.quote(profile)), ("profile_switches", "0"),
            ("output", JSONText.quote(output)), ("peak_rss_bytes", String(peakRSS)),
        ]
        if let error { fields.append(("error", JSONText.quote(error))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
