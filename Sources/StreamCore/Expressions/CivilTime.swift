/// Proleptic Gregorian calendar arithmetic on epoch milliseconds (UTC), without Foundation.
/// The day/civil conversions follow Howard Hinnant's `days_from_civil` / `civil_from_days`.
public enum CivilTime {
    static let msPerSecond: Int64 = 1_000
    static let msPerMinute: Int64 = 60_000
    static let msPerHour: Int64 = 3_600_000
    static let msPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01 of a civil date.
    @inline(__always)
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    static func civil(days z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }

    static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Floor division, so instants before 1970 land on the right day.
    @inline(__always)
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The broken-down UTC time of an instant.
    struct Parts {
        var year: Int64, month: Int64, day: Int64
        var hour: Int64, minute: Int64, second: Int64, millis: Int64
        var dayOfYear: Int64
        /// 0 = Sunday … 6 = Saturday.
        var dayOfWeek: Int64
    }

    static func parts(_ ms: Int64) -> Parts {
        let day = floorDiv(ms, msPerDay)
        let rem = ms - day * msPerDay
        let (y, m, d) = civil(days: day)
        let doy = day - days(year: y, month: 1, day: 1) + 1
        let dow = ((day % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        return Parts(
            year: y,
            month: m,
            day: d,
            hour: rem / msPerHour,
            minute: rem % msPerHour / msPerMinute,
            second: rem % msPerMinute / msPerSecond,
            millis: rem % msPerSecond,
            dayOfYear: doy,
            dayOfWeek: dow
        )
    }

    /// Parses RFC 3339 (`2026-11-27T10:15:30Z`, `2026-11-27T10:15:30.123+01:00`) into epoch millis UTC.
    /// Fractions beyond milliseconds are truncated. `T` may also be `t` or a space; `Z` may be `z`.
    static func parseRFC3339(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        var i = 0
        @inline(__always) func digits(_ count: Int) -> Int64? {
            guard i + count <= n else { return nil }
            var v: Int64 = 0
            for k in 0..<count {
                let d = p[i + k] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            i += count
            return v
        }
        @inline(__always) func expect(_ c: UInt8) -> Bool {
            guard i < n, p[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else {
            return nil
        }
        guard i < n, p[i] == 84 || p[i] == 116 || p[i] == 32 else { return nil }
        i += 1
        guard let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2) else {
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour < 24,
            minute < 60, second <= 60
        else { return nil }
        var millis: Int64 = 0
        if i < n, p[i] == 46 {
            i += 1
            var count = 0
            while i < n, p[i] &- 48 < 10 {
                if count < 3 { millis = millis * 10 + Int64(p[i] - 48) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        if p[i] == 90 || p[i] == 122 {
            i += 1
        } else if p[i] == 43 || p[i] == 45 {
            let negative = p[i] == 45
            i += 1
            guard let oh = digits(2), expect(58), let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (negative ? -1 : 1)
        } else {
            return nil
        }
        guard i == n else { return nil }
        let d = days(year: year, month: month, day: day)
        return d * msPerDay + hour * msPerHour + minute * msPerMinute + second * msPerSecond + millis
            - offsetMinutes * msPerMinute
    }

    /// Epoch milliseconds of an RFC 3339 timestamp (`2026-11-27T10:15:30.123+01:00`), nil if malformed.
    public static func parseRFC3339(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { b in b.baseAddress.flatMap { parseRFC3339($0, b.count) } }
    }

    /// `2026-11-27T10:15:30.123Z` (milliseconds only when non-zero).
    public static func rfc3339(_ ms: Int64) -> String {
        let t = parts(ms)
        var s = pad(t.year, 4) + "-" + pad(t.month, 2) + "-" + pad(t.day, 2)
        s += "T" + pad(t.hour, 2) + ":" + pad(t.minute, 2) + ":" + pad(t.second, 2)
        if t.millis != 0 { s += "." + pad(t.millis, 3) }
        return s + "Z"
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let digits = String(v.magnitude)
        let zeros = String(repeating: "0", count: max(0, width - digits.count))
        return (v < 0 ? "-" : "") + zeros + digits
    }
}
