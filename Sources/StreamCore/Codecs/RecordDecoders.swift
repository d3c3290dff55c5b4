#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds the decoder of a source's record format.
public enum RecordDecoders {
    /// A decoder for `format` into rows of `schema`. `csvHeader` maps CSV columns to fields by name.
    public static func make(format: RecordFormat, schema: Schema, csvHeader: [String]? = nil) -> any RecordDecoder {
        switch format {
        case .json: JSONRecordDecoder(schema: schema)
        case .csv: CSVRecordDecoder(schema: schema, header: csvHeader)
        }
    }
}

/// Undoing a partly decoded row.
enum DecodeRollback {
    /// Restores `batch` to its state before the row being decoded: drops values appended past `count`,
    /// string bytes past the last offset, and validity arrays this row created (`createdValidity`).
    static func restore(_ batch: inout Batch, createdValidity: [Bool]) {
        for f in batch.columns.indices {
            if batch.columns[f].count > batch.count { batch.columns[f].removeLast() }
            if batch.columns[f].type.storage == .string {
                let end = Int(batch.columns[f].strings.offsets.last!)
                if batch.columns[f].strings.bytes.count > end {
                    batch.columns[f].strings.bytes.removeSubrange(end...)
                }
            }
            if createdValidity[f] { batch.columns[f].validity = nil }
        }
    }
}

/// Why a piece of text did not convert to a field's type.
enum ScalarFailure: Error {
    case notANumber
    case notAnInteger
    case outOfRange
    case tooPrecise
}

/// Text → typed value conversions shared by the JSON and CSV decoders. All work on raw bytes.
enum ScalarText {
    /// `-?digits` into an Int64; exact edges (`-9223372036854775808`) are fine.
    @inline(__always)
    static func int64(_ p: UnsafePointer<UInt8>, _ n: Int) -> Result<Int64, ScalarFailure> {
        var i = 0
        var negative = false
        if n > 0, p[0] == 45 || p[0] == 43 {
            negative = p[0] == 45
            i = 1
        }
        guard i < n else { return .failure(.notANumber) }
        // Accumulate as a negative number: its range is one larger than the positive one.
        var acc: Int64 = 0
        while i < n {
            let d = p[i] &- 48
            guard d < 10 else {
                return isNumber(p, n) ? .failure(.notAnInteger) : .failure(.notANumber)
            }
            let (m, o1) = acc.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            if o1 || o2 { return isNumber(p, n) ? .failure(.outOfRange) : .failure(.notANumber) }
            acc = s
            i += 1
        }
        if negative { return .success(acc) }
        guard acc != .min else { return .failure(.outOfRange) }
        return .success(-acc)
    }

    /// Whether the bytes are a decimal number: `[+-]? digits [. digits] [e [+-] digits]`,
    /// with digits on at least one side of the point.
    static func isNumber(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        if i < n, p[i] == 45 || p[i] == 43 { i += 1 }
        var mantissaDigits = 0
        while i < n, p[i] &- 48 < 10 {
            i += 1
            mantissaDigits += 1
        }
        if i < n, p[i] == 46 {
            i += 1
            while i < n, p[i] &- 48 < 10 {
                i += 1
                mantissaDigits += 1
            }
        }
        guard mantissaDigits > 0 else { return false }
        if i < n, p[i] | 0x20 == 101 {
            i += 1
            if i < n, p[i] == 45 || p[i] == 43 { i += 1 }
            var expDigits = 0
            while i < n, p[i] &- 48 < 10 {
                i += 1
                expDigits += 1
            }
            guard expDigits > 0 else { return false }
        }
        return i == n
    }

    private static let exactPowers: [Double] = (0...22).map { e in
        var v = 1.0
        for _ in 0..<e { v *= 10 }
        return v
    }

    /// A number (validated by `isNumber`) to the nearest Double. Short numbers take the exact fast path
    /// (mantissa < 2^53, power of ten <= 22); everything else goes through `strtod`.
    static func double(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard isNumber(p, n) else { return nil }
        var i = 0
        var negative = false
        if p[0] == 45 || p[0] == 43 {
            negative = p[0] == 45
            i = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fracDigits = 0
        var seenPoint = false
        while i < n {
            let c = p[i]
            if c == 46 {
                seenPoint = true
            } else if c &- 48 < 10 {
                if mantissa != 0 || c != 48 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(c - 48)
                if seenPoint { fracDigits += 1 }
            } else {
                break
            }
            i += 1
        }
        if i == n, digits <= 15, fracDigits <= 22 {
            let v = Double(mantissa) / exactPowers[fracDigits]
            return negative ? -v : v
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for k in 0..<n { buf[k] = CChar(bitPattern: p[k]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }

    /// A number to a decimal with `scale` fractional digits, exactly.
    /// Extra fractional digits are rounded half-to-even (banker's rounding, as in IEEE 754 decimal
    /// arithmetic), so `0.125` at scale 2 is `0.12` and `0.135` is `0.14`; under `strict` a value that
    /// would change by rounding fails with `tooPrecise` (trailing zeros are fine).
    static func decimal(
        _ p: UnsafePointer<UInt8>, _ n: Int, scale: Int, strict: Bool = false
    ) -> Result<Int64, ScalarFailure> {
        guard isNumber(p, n) else { return .failure(.notANumber) }
        var i = 0
        var negative = false
        if p[0] == 45 || p[0] == 43 {
            negative = p[0] == 45
            i = 1
        }
        let mantissaStart = i
        var fracDigits = 0
        var seenPoint = false
        while i < n, p[i] == 46 || p[i] &- 48 < 10 {
            if p[i] == 46 { seenPoint = true } else if seenPoint { fracDigits += 1 }
            i += 1
        }
        let mantissaEnd = i
        var exponent = 0
        if i < n {  // exponent part
            i += 1
            var expNegative = false
            if p[i] == 45 || p[i] == 43 {
                expNegative = p[i] == 45
                i += 1
            }
            while i < n {
                exponent = min(exponent * 10 + Int(p[i] - 48), 100_000)
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        // value = digits * 10^(exponent - fracDigits); we want digits * 10^shift.
        let shift = exponent - fracDigits + scale
        var totalDigits = 0
        for k in mantissaStart..<mantissaEnd where p[k] != 46 { totalDigits += 1 }
        let keep = totalDigits + min(shift, 0)  // leading digits that survive
        var acc: Int64 = 0  // negative accumulation, see `int64`
        var seen = 0
        var firstDropped: UInt8 = 0
        var restNonZero = false
        for k in mantissaStart..<mantissaEnd where p[k] != 46 {
            let d = p[k] - 48
            if seen < keep {
                let (m, o1) = acc.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.subtractingReportingOverflow(Int64(d))
                if o1 || o2 { return .failure(.outOfRange) }
                acc = s
            } else if seen == keep {
                firstDropped = d
            } else if d != 0 {
                restNonZero = true
            }
            seen += 1
        }
        if strict && keep >= 0 && (firstDropped != 0 || restNonZero) { return .failure(.tooPrecise) }
        if strict && keep < 0 {
            // Every digit falls below the scale: the value changes unless all of them are zero.
            for k in mantissaStart..<mantissaEnd where p[k] != 46 && p[k] != 48 { return .failure(.tooPrecise) }
        }
        if shift > 0 {
            for _ in 0..<shift {
                if acc == 0 { break }
                let (m, o) = acc.multipliedReportingOverflow(by: 10)
                if o { return .failure(.outOfRange) }
                acc = m
            }
        } else if keep >= 0 && (firstDropped > 5 || (firstDropped == 5 && (restNonZero || acc % 2 != 0))) {
            let (s, o) = acc.subtractingReportingOverflow(1)
            if o { return .failure(.outOfRange) }
            acc = s
        }
        if negative { return .success(acc) }
        guard acc != .min else { return .failure(.outOfRange) }
        return .success(-acc)
    }

    /// `true`/`false` in any case, or `1`/`0`.
    static func bool(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool? {
        if n == 1 {
            if p[0] == 49 { return true }
            if p[0] == 48 { return false }
            return nil
        }
        func matches(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == n else { return false }
            let w = word.utf8Start
            for k in 0..<n where p[k] | 0x20 != w[k] { return false }
            return true
        }
        if matches("true") { return true }
        if matches("false") { return false }
        return nil
    }

    /// Epoch milliseconds from an integer counting `unit`, or an RFC 3339 date-time.
    static func timestamp(_ p: UnsafePointer<UInt8>, _ n: Int, unit: TimestampUnit = .milliseconds) -> Int64? {
        if case .success(let v) = int64(p, n) { return unit.toMillis(v) }
        return CivilTime.parseRFC3339(p, n)
    }

    /// Up to `limit` bytes of the text, for error messages.
    static func preview(_ p: UnsafePointer<UInt8>, _ n: Int, limit: Int = 40) -> String {
        let text = String(decoding: UnsafeBufferPointer(start: p, count: min(n, limit)), as: UTF8.self)
        return n > limit ? text + "…" : text
    }
}
