/// Durations and sizes spelled as a user writes them in a pipeline or profile file: the shortest exact form,
/// so what is printed can be typed back (`--set`, a profile file) and means the same.
public enum UnitText {
    /// `3600000` → `1h`, `90000` → `90s`, `1500` → `1500ms`, `0` → `0s`.
    public static func duration(ms: Int64) -> String {
        if ms == 0 { return "0s" }
        for (unit, factor) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        where ms % factor == 0 {
            return "\(ms / factor)\(unit)"
        }
        return "\(ms)ms"
    }

    /// Binary units when exact (`536870912` → `512MiB`), else decimal ones (`1000000` → `1MB`), else the byte
    /// count (`1500`).
    public static func size(bytes: Int64) -> String {
        if bytes == 0 { return "0" }
        for (unit, shift) in [("TiB", Int64(40)), ("GiB", 30), ("MiB", 20), ("KiB", 10)]
        where bytes % (Int64(1) << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        for (unit, factor) in [("TB", Int64(1_000_000_000_000)), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)]
        where bytes % factor == 0 {
            return "\(bytes / factor)\(unit)"
        }
        return "\(bytes)"
    }
}
