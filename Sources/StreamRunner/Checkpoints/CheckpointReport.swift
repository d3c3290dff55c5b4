import StreamCore

/// The text of `streamctl checkpoints list` and `inspect`.
public enum CheckpointReport {
    /// One line per completed checkpoint, newest first.
    public static func list(_ store: CheckpointStore) -> String {
        let ids = store.ids()
        guard !ids.isEmpty else { return "no checkpoints in \(store.root)\n" }
        var lines = ["id\tcreated (UTC)\t\tstate files\tbytes\tpending outputs\tduration ms\tpause ms\tkind"]
        for id in ids {
            guard let m = try? store.manifest(id) else {
                lines.append("\(id)\t(unreadable manifest)")
                continue
            }
            let bytes = m.state.reduce(Int64(0)) { $0 + $1.size }
            let kind = m.finished ? "finished" : (m.savepoint ? "savepoint" : (m.incremental ? "incremental" : "full"))
            lines.append(
                "\(id)\t\(CivilTime.rfc3339(m.createdAtMs))\t\(m.state.count)\t\(bytes)\t\(m.pending.count)\t"
                    + "\(m.durations.totalMs)\t\(m.durations.pauseMs)\t\(kind)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Everything a manifest says, and whether its files check out.
    public static func inspect(_ store: CheckpointStore, id: Int64) throws(StreamError) -> String {
        let m = try store.manifest(id)
        var out = [
            "checkpoint \(m.id) of \(m.pipeline) (profile \(m.profile)), created \(CivilTime.rfc3339(m.createdAtMs))",
            "kind: \(m.finished ? "finished (the input had ended)" : (m.incremental ? "incremental" : "full"))"
                + (m.savepoint ? ", savepoint" : ""),
            "durations: align \(m.durations.alignMs) ms, pause \(m.durations.pauseMs) ms, copy \(m.durations.copyMs) ms, "
                + "total \(m.durations.totalMs) ms; \(m.bytesCopied) bytes copied",
            "sources: \(m.progress.positions.count) splits",
        ]
        for (split, pos) in m.progress.positions.sorted(by: { $0.key < $1.key }) {
            let t = m.progress.eventTimes[split].map { CivilTime.rfc3339($0) } ?? "-"
            out.append("  split \(split): next position \(pos), newest event time \(t)")
        }
        for (stage, wm) in m.progress.watermarks.sorted(by: { $0.key < $1.key }) {
            out.append("watermark of \(stage): \(wm == .min ? "none" : CivilTime.rfc3339(wm))")
        }
        out.append("state (\(m.backend)): \(m.state.count) files")
        for f in m.state { out.append("  \(f.path)  \(f.size) bytes  crc32c \(String(f.crc32c, radix: 16))") }
        out.append("output published with it: \(m.pending.count) files")
        for p in m.pending { out.append("  \(p.final)") }
        do throws(StreamError) {
            try store.verify(m)
            out.append("files: every size and checksum matches")
        } catch {
            out.append("files: \(error.message)")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
