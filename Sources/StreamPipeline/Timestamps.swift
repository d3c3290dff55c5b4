import StreamCore

/// Timestamps in pipeline files: RFC 3339 (`2026-11-27T00:00:00Z`, `2026-11-27T01:00:00.250+01:00`)
/// or epoch milliseconds.
public enum Timestamps {
    /// Epoch milliseconds, or nil when `text` is neither form.
    public static func parseMs(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        return CivilTime.parseRFC3339(text)
    }
}
