/// Appending numbers, timestamps and escaped text as UTF-8 bytes, without building intermediate strings.
enum ByteFormat {
    static let millisPerDay: Int64 = 86_400_000

    @inline(__always)
    static func digitCount(_ v: UInt64) -> Int {
        var n = 1
        var t = v
        while t >= 10 {
            t /= 10
            n += 1
        }
        return n
    }

    /// Decimal digits of `v`, left-padded with zeros to at least `width`.
    @inline(__always)
    static func appendUInt(_ v: UInt64, width: Int = 1, into out: inout [UInt8]) {
        let n = max(digitCount(v), width)
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n))
        var x = v
        var i = start + n - 1
        while x != 0 {
            out[i] = UInt8(truncatingIfNeeded: 48 &+ x % 10)
            x /= 10
            i -= 1
        }
    }

    @inline(__always)
    static func appendInt(_ v: Int64, into out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        appendUInt(v.magnitude, into: &out)
    }

    /// A scaled integer as an exact decimal with `scale` fraction digits: `1250, scale 2` is `12.50`.
    static func appendDecimal(_ v: Int64, scale: Int, into out: inout [UInt8]) {
        if scale <= 0 {
            appendInt(v, into: &out)
            return
        }
        var p: UInt64 = 1
        for _ in 0..<min(scale, 19) { p &*= 10 }
        if v < 0 { out.append(UInt8(ascii: "-")) }
        let m = v.magnitude
        appendUInt(scale >= 19 ? 0 : m / p, into: &out)
        out.append(UInt8(ascii: "."))
        appendUInt(scale >= 19 ? m : m % p, width: scale, into: &out)
    }

    /// Shortest round-trip text of a finite double (`1.0`, `0.1`, `1e-05`).
    static func appendDouble(_ v: Double, into out: inout [UInt8]) {
        if v == v.rounded(.towardZero) && abs(v) < 9_007_199_254_740_992 {
            if v == 0 && v.sign == .minus { out.append(UInt8(ascii: "-")) }
            appendInt(Int64(v), into: &out)
            out.append(UInt8(ascii: "."))
            out.append(UInt8(ascii: "0"))
            return
        }
        out.append(contentsOf: v.description.utf8)
    }

    /// Year, month (1...12) and day (1...31) of a day count since 1970-01-01 (proleptic Gregorian).
    @inline(__always)
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let c = CivilTime.civil(days: days)
        return (c.year, Int(c.month), Int(c.day))
    }

    /// Splits epoch milliseconds into whole days (floored) and milliseconds into that day.
    @inline(__always)
    static func split(millis ms: Int64) -> (days: Int64, msOfDay: Int64) {
        var days = ms / millisPerDay
        var rest = ms % millisPerDay
        if rest < 0 {
            days -= 1
            rest += millisPerDay
        }
        return (days, rest)
    }

    @inline(__always)
    static func appendYear(_ y: Int64, into out: inout [UInt8]) {
        if y < 0 { out.append(UInt8(ascii: "-")) }
        appendUInt(y.magnitude, width: 4, into: &out)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-27T10:00:00.000Z`.
    static func appendTimestamp(_ ms: Int64, into out: inout [UInt8]) {
        let (days, msOfDay) = split(millis: ms)
        let (y, m, d) = civil(days: days)
        appendYear(y, into: &out)
        out.append(UInt8(ascii: "-"))
        appendUInt(UInt64(m), width: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        appendUInt(UInt64(d), width: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        let s = msOfDay / 1000
        appendUInt(UInt64(s / 3600), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendUInt(UInt64(s / 60 % 60), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendUInt(UInt64(s % 60), width: 2, into: &out)
        out.append(UInt8(ascii: "."))
        appendUInt(UInt64(msOfDay % 1000), width: 3, into: &out)
        out.append(UInt8(ascii: "Z"))
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Length of the valid UTF-8 sequence starting at `p[i]` (a byte >= 0x80), or 0 when it is not valid.
    @inline(__always)
    static func utf8SequenceLength(_ p: UnsafeRawBufferPointer, at i: Int) -> Int {
        let n = p.count
        let b0 = p[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < n && p[i + k] >= lo && p[i + k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// A JSON string literal of `bytes`: quotes, backslash and control characters escaped; valid UTF-8
    /// passed through; an invalid byte becomes U+FFFD.
    static func appendJSONString(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var run = 0
        var i = 0
        let n = p.count
        while i < n {
            let b = p[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C && b < 0x80 {
                i += 1
                continue
            }
            if b >= 0x80 {
                let len = utf8SequenceLength(p, at: i)
                if len > 0 {
                    i += len
                    continue
                }
            }
            if run < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run..<i])) }
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x80...: out.append(contentsOf: replacementCharacter)
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0xF)])
            }
            i += 1
            run = i
        }
        if run < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run..<n])) }
        out.append(UInt8(ascii: "\""))
    }

    static func appendJSONString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0), into: &out) }
    }

    /// One RFC 4180 field: quoted (with doubled quotes) only when it holds a comma, quote, CR or LF.
    static func appendCSVField(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var needsQuotes = false
        for b in p where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        if !needsQuotes {
            out.append(contentsOf: p)
            return
        }
        out.append(0x22)
        var run = 0
        for i in 0..<p.count where p[i] == 0x22 {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run...i]))
            out.append(0x22)
            run = i + 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run..<p.count]))
        out.append(0x22)
    }

    static func appendCSVField(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendCSVField(UnsafeRawBufferPointer($0), into: &out) }
    }
}
