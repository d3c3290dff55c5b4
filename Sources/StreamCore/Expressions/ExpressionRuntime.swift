/// Run-time loops of the string, time and null functions.
extension ExpressionCompiler {
    static func changeCase(_ c: Column, upper: Bool) -> Column {
        Kernels.buildStrings(c.count, validity: c.validity) { i, out in
            let r = c.strings.range(i)
            if c.strings.bytes[r].allSatisfy({ $0 < 0x80 }) {
                for b in c.strings.bytes[r] {
                    let isLower = b >= 97 && b <= 122
                    let isUpper = b >= 65 && b <= 90
                    out.append(upper && isLower ? b - 32 : !upper && isUpper ? b + 32 : b)
                }
            } else {
                let s = c.strings.string(at: i)
                out.append(contentsOf: (upper ? s.uppercased() : s.lowercased()).utf8)
            }
        }
    }

    /// SQL `substring`: 1-based `start`, characters before 1 count towards `length`; a negative length is null.
    static func substring(_ s: Column, _ start: Column, _ length: Column?) -> Column {
        var valid = Kernels.validity(s, start)
        if let length { valid = Kernels.validity(valid, length.validity) }
        var nulls: [Bool]? = nil
        var out = Kernels.buildStrings(s.count, validity: nil) { i, out in
            let from = start.int64s[i]
            var to = Int64.max
            if let length {
                let l = length.int64s[i]
                if l < 0 {
                    if nulls == nil { nulls = Array(repeating: false, count: s.count) }
                    nulls![i] = true
                    return
                }
                to = from.addingReportingOverflow(l).overflow ? .max : from + l
            }
            let r = s.strings.range(i)
            let bytes = s.strings.bytes[r]
            // Byte offset of each character start, plus the end.
            var starts: [Int] = []
            starts.reserveCapacity(bytes.count + 1)
            for k in r where s.strings.bytes[k] & 0xC0 != 0x80 { starts.append(k) }
            starts.append(r.upperBound)
            let chars = Int64(starts.count - 1)
            let lo = max(from, 1)
            let hi = min(to, chars + 1)
            guard hi > lo else { return }
            out.append(contentsOf: s.strings.bytes[starts[Int(lo - 1)]..<starts[Int(hi - 1)]])
        }
        Kernels.finish(&out, valid, nulls)
        return out
    }

    static func extract(_ unit: String, _ ms: Int64) -> Int64 {
        let t = CivilTime.parts(ms)
        switch unit {
        case "year": return t.year
        case "month": return t.month
        case "day": return t.day
        case "hour": return t.hour
        case "minute": return t.minute
        case "second": return t.second
        default: return t.dayOfWeek
        }
    }

    static func truncate(_ unit: String, _ ms: Int64) -> Int64 {
        func floor(_ step: Int64) -> Int64 { CivilTime.floorDiv(ms, step) * step }
        switch unit {
        case "second": return floor(CivilTime.msPerSecond)
        case "minute": return floor(CivilTime.msPerMinute)
        case "hour": return floor(CivilTime.msPerHour)
        case "day": return floor(CivilTime.msPerDay)
        default:
            let t = CivilTime.parts(ms)
            return CivilTime.days(year: t.year, month: unit == "month" ? t.month : 1, day: 1) * CivilTime.msPerDay
        }
    }

    /// The first valid value of each row across `columns` (all of `type`).
    static func coalesce(_ columns: [Column], _ type: FieldType) -> Column {
        let n = columns[0].count
        var out = Column(type: type)
        var valid = Array(repeating: false, count: n)
        var anyNull = false
        for i in 0..<n {
            let j = columns.firstIndex { $0.isValid(i) }
            let c = columns[j ?? 0]
            if j != nil { valid[i] = true } else { anyNull = true }
            switch type.storage {
            case .int64: out.int64s.append(c.int64s[i])
            case .double: out.doubles.append(c.doubles[i])
            case .bool: out.bools.append(c.bools[i])
            case .string:
                out.strings.bytes.append(contentsOf: c.strings.bytes[c.strings.range(i)])
                out.strings.offsets.append(UInt32(out.strings.bytes.count))
            }
        }
        if anyNull { out.validity = valid }
        return out
    }
}

/// A compiled strftime subset: `%Y %m %d %H %M %S %j %%`.
struct TimeFormat: Sendable {
    enum Piece: Sendable {
        case text([UInt8])
        case code(UInt8)
    }
    let pieces: [Piece]

    init(_ pattern: String, at offset: Int) throws(ExpressionError) {
        var pieces: [Piece] = []
        var text: [UInt8] = []
        var bytes = Array(pattern.utf8).makeIterator()
        while let b = bytes.next() {
            guard b == 37 else {
                text.append(b)
                continue
            }
            guard let code = bytes.next() else {
                throw ExpressionError("format pattern ends with `%`", at: offset, help: "write `%%` for a percent sign")
            }
            switch code {
            case 37: text.append(37)
            case 89, 109, 100, 72, 77, 83, 106:
                if !text.isEmpty { pieces.append(.text(text)) }
                text = []
                pieces.append(.code(code))
            default:
                throw ExpressionError(
                    "unknown format code `%\(Character(Unicode.Scalar(code)))`",
                    at: offset,
                    help: "codes are %Y %m %d %H %M %S %j %%"
                )
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    func append(_ ms: Int64, to out: inout [UInt8]) {
        let t = CivilTime.parts(ms)
        for piece in pieces {
            switch piece {
            case .text(let bytes): out.append(contentsOf: bytes)
            case .code(let c):
                switch c {
                case 89: out.append(contentsOf: CivilTime.pad(t.year, 4).utf8)
                case 109: Self.two(t.month, &out)
                case 100: Self.two(t.day, &out)
                case 72: Self.two(t.hour, &out)
                case 77: Self.two(t.minute, &out)
                case 83: Self.two(t.second, &out)
                default: out.append(contentsOf: CivilTime.pad(t.dayOfYear, 3).utf8)
                }
            }
        }
    }

    @inline(__always)
    static func two(_ v: Int64, _ out: inout [UInt8]) {
        out.append(UInt8(48 + v / 10))
        out.append(UInt8(48 + v % 10))
    }
}
