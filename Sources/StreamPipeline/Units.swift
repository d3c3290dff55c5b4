import StreamCore

/// Durations as written in pipeline and profile files: a whole number and a unit, e.g. `250ms`, `10s`, `5m`,
/// `1h`, `2d`, or several of them in a row (`1h30m`). `0` alone is zero.
public enum Durations {
    /// The units a duration accepts, for messages.
    public static let acceptedUnits = "ms, s, m, h, d (e.g. `250ms`, `10s`, `5m`, `1h30m`)"

    private static let unitMs: [String: Int64] = ["ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]

    /// Milliseconds, or nil when `text` is not a duration (or does not fit in 64 bits).
    public static func parseMs(_ text: String) -> Int64? {
        let s = Array(text.unicodeScalars)
        if text == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        while i < s.count {
            var number: Int64 = 0
            let start = i
            while i < s.count, let d = digit(s[i]) {
                let (m, o1) = number.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                guard !o1, !o2 else { return nil }
                number = a
                i += 1
            }
            guard i > start else { return nil }
            let unitStart = i
            while i < s.count, s[i].properties.isAlphabetic { i += 1 }
            let unit = String(String.UnicodeScalarView(s[unitStart..<i]))
            guard let factor = unitMs[unit] else { return nil }
            let (product, o3) = number.multipliedReportingOverflow(by: factor)
            let (sum, o4) = total.addingReportingOverflow(product)
            guard !o3, !o4 else { return nil }
            total = sum
        }
        return total
    }

    /// The shortest exact spelling of `ms` (`3600000` → `1h`), for messages and graphs.
    public static func format(_ ms: Int64) -> String { UnitText.duration(ms: ms) }

    static func digit(_ c: Unicode.Scalar) -> Int64? {
        guard c.value >= 48, c.value <= 57 else { return nil }
        return Int64(c.value - 48)
    }
}

/// Sizes as written in pipeline and profile files: a byte count with an optional unit,
/// decimal (`KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024).
public enum Sizes {
    /// The units a size accepts, for messages.
    public static let acceptedUnits =
        "B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), "
        + "e.g. `64KiB`, `512MiB`, `100MB`, or a plain byte count"

    private static let unitBytes: [String: Int64] = [
        "": 1, "b": 1,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    ]

    /// Bytes, or nil when `text` is not a size (or does not fit in 64 bits). Units are case-insensitive.
    public static func parseBytes(_ text: String) -> Int64? {
        let s = Array(text.unicodeScalars)
        var i = 0
        var number: Int64 = 0
        while i < s.count, let d = Durations.digit(s[i]) {
            let (m, o1) = number.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            number = a
            i += 1
        }
        guard i > 0 else { return nil }
        let unit = String(String.UnicodeScalarView(s[i...])).lowercased()
        guard let factor = unitBytes[unit] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// The shortest exact spelling of `bytes` (`536870912` → `512MiB`, `1000000` → `1MB`).
    public static func format(_ bytes: Int64) -> String { UnitText.size(bytes: bytes) }
}
