#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Column-at-a-time loops used by compiled expressions. Inputs have equal length; outputs carry the
/// combined validity. Arithmetic that overflows yields null, like division by zero.
enum Kernels {
    static let powersOfTen: [Int64] = (0...18).map { e in
        var v: Int64 = 1
        for _ in 0..<e { v *= 10 }
        return v
    }

    /// `n` copies of a constant.
    static func broadcast(_ value: Value, as type: FieldType, count n: Int) -> Column {
        var c = Column(type: type)
        switch value {
        case .null:
            switch type.storage {
            case .int64: c.int64s = Array(repeating: 0, count: n)
            case .double: c.doubles = Array(repeating: 0, count: n)
            case .bool: c.bools = Array(repeating: false, count: n)
            case .string: c.strings.offsets = Array(repeating: 0, count: n + 1)
            }
            c.validity = Array(repeating: false, count: n)
        case .int64(let v), .timestamp(let v), .decimal(let v, _): c.int64s = Array(repeating: v, count: n)
        case .double(let v): c.doubles = Array(repeating: v, count: n)
        case .bool(let v): c.bools = Array(repeating: v, count: n)
        case .string(let s):
            let bytes = Array(s.utf8)
            c.strings.reserve(rows: n, bytes: bytes.count * n)
            bytes.withUnsafeBytes { raw in for _ in 0..<n { c.strings.append(bytes: raw) } }
        }
        return c
    }

    /// The value of row `i` as a `Value` (constant folding, tests).
    static func value(_ c: Column, _ i: Int) -> Value {
        Batch(schema: Schema([Field("v", c.type, nullable: true)]), columns: [c]).value(row: i, column: 0)
    }

    @inline(__always)
    static func validity(_ a: Column, _ b: Column) -> [Bool]? { validity(a.validity, b.validity) }

    /// Rows valid in both (nil: all valid).
    static func validity(_ a: [Bool]?, _ b: [Bool]?) -> [Bool]? {
        switch (a, b) {
        case (nil, nil): nil
        case (let x?, nil): x
        case (nil, let y?): y
        case (let x?, let y?): zip(x, y).map { $0 && $1 }
        }
    }

    /// Sets `out`'s validity to `base` with the rows in `nulls` cleared (nil `nulls`: no new nulls).
    @inline(__always)
    static func finish(_ out: inout Column, _ base: [Bool]?, _ nulls: [Bool]?) {
        guard let nulls else {
            out.validity = base
            return
        }
        var v = base ?? Array(repeating: true, count: nulls.count)
        for i in v.indices where nulls[i] { v[i] = false }
        out.validity = v
    }

    /// Element-wise Int64 operation; `op` returns nil for a null result (overflow, division by zero).
    @inline(__always)
    static func int64s(_ a: Column, _ b: Column, _ type: FieldType, _ op: (Int64, Int64) -> Int64?) -> Column {
        var out = Column(type: type)
        let n = a.int64s.count
        out.int64s.reserveCapacity(n)
        var nulls: [Bool]? = nil
        for i in 0..<n {
            if let v = op(a.int64s[i], b.int64s[i]) {
                out.int64s.append(v)
            } else {
                out.int64s.append(0)
                if nulls == nil { nulls = Array(repeating: false, count: n) }
                nulls![i] = true
            }
        }
        finish(&out, validity(a, b), nulls)
        return out
    }

    @inline(__always)
    static func doubles(_ a: Column, _ b: Column, _ op: (Double, Double) -> Double?) -> Column {
        var out = Column(type: .double)
        let n = a.doubles.count
        out.doubles.reserveCapacity(n)
        var nulls: [Bool]? = nil
        for i in 0..<n {
            if let v = op(a.doubles[i], b.doubles[i]) {
                out.doubles.append(v)
            } else {
                out.doubles.append(0)
                if nulls == nil { nulls = Array(repeating: false, count: n) }
                nulls![i] = true
            }
        }
        finish(&out, validity(a, b), nulls)
        return out
    }

    /// Element-wise unary map over Int64 storage.
    @inline(__always)
    static func mapInt64(_ a: Column, _ type: FieldType, _ op: (Int64) -> Int64?) -> Column {
        int64s(a, a, type) { x, _ in op(x) }
    }

    // MARK: - Conversions between numeric representations

    static func toDouble(_ c: Column) -> Column {
        var out = Column(type: .double)
        switch c.type {
        case .double: return c
        case .decimal(let s):
            let p = Double(powersOfTen[s])
            out.doubles = c.int64s.map { Double($0) / p }
        default: out.doubles = c.int64s.map { Double($0) }
        }
        out.validity = c.validity
        return out
    }

    /// Raises a decimal (or int64, scale 0) to a larger scale; overflow yields null.
    static func rescale(_ c: Column, from: Int, to: Int) -> Column {
        let type: FieldType = .decimal(scale: to)
        if from == to { return c.retyped(type) }
        let f = powersOfTen[to - from]
        return mapInt64(c, type) { x in
            let (v, o) = x.multipliedReportingOverflow(by: f)
            return o ? nil : v
        }
    }

    /// Lowers a decimal's scale, rounding half away from zero (`round`) or half to even (`cast`).
    static func reduceScale(_ x: Int64, by digits: Int, halfEven: Bool) -> Int64 {
        if digits <= 0 { return x }
        guard digits <= 18 else { return 0 }
        let p = powersOfTen[digits]
        let q = x / p
        let r = (x % p).magnitude
        let half = UInt64(p / 2)
        let up = r > half || (r == half && (!halfEven || q % 2 != 0))
        return up ? (x < 0 ? q - 1 : q + 1) : q
    }

    // MARK: - Comparisons

    enum Comparison: String {
        case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="

        @inline(__always)
        func holds(_ order: Int) -> Bool {
            switch self {
            case .eq: order == 0
            case .ne: order != 0
            case .lt: order < 0
            case .le: order <= 0
            case .gt: order > 0
            case .ge: order >= 0
            }
        }
    }

    static func compare<T: Comparable>(_ x: [T], _ y: [T], _ op: Comparison) -> [Bool] {
        switch op {
        case .eq: zip(x, y).map { $0 == $1 }
        case .ne: zip(x, y).map { $0 != $1 }
        case .lt: zip(x, y).map { $0 < $1 }
        case .le: zip(x, y).map { $0 <= $1 }
        case .gt: zip(x, y).map { $0 > $1 }
        case .ge: zip(x, y).map { $0 >= $1 }
        }
    }

    static func compareStrings(_ a: Column, _ b: Column, _ op: Comparison) -> [Bool] {
        let n = a.count
        return a.strings.bytes.withUnsafeBufferPointer { x in
            b.strings.bytes.withUnsafeBufferPointer { y in
                (0..<n).map { i in
                    let ra = a.strings.range(i)
                    let rb = b.strings.range(i)
                    let common = min(ra.count, rb.count)
                    var order =
                        common == 0
                        ? 0 : Int(memcmp(x.baseAddress! + ra.lowerBound, y.baseAddress! + rb.lowerBound, common))
                    if order == 0 { order = ra.count - rb.count }
                    return op.holds(order)
                }
            }
        }
    }

    // MARK: - Strings

    /// A string column built row by row from `body`, which appends one row's bytes to the buffer.
    @inline(__always)
    static func buildStrings(_ n: Int, validity: [Bool]?, _ body: (Int, inout [UInt8]) -> Void) -> Column {
        var out = Column(type: .string)
        out.strings.offsets.reserveCapacity(n + 1)
        for i in 0..<n {
            body(i, &out.strings.bytes)
            out.strings.offsets.append(UInt32(out.strings.bytes.count))
        }
        out.validity = validity
        return out
    }

    /// The text form of each value (`cast(x as string)`, `concat`).
    static func toStrings(_ c: Column) -> Column {
        switch c.type {
        case .string: return c
        case .bool:
            return buildStrings(c.count, validity: c.validity) { i, out in
                out.append(contentsOf: (c.bools[i] ? "true" : "false").utf8)
            }
        case .double:
            return buildStrings(c.count, validity: c.validity) { i, out in
                out.append(contentsOf: String(c.doubles[i]).utf8)
            }
        case .int64:
            return buildStrings(c.count, validity: c.validity) { i, out in
                out.append(contentsOf: String(c.int64s[i]).utf8)
            }
        case .decimal(let s):
            return buildStrings(c.count, validity: c.validity) { i, out in
                out.append(contentsOf: DecimalFormat.string(c.int64s[i], scale: s).utf8)
            }
        case .timestamp:
            return buildStrings(c.count, validity: c.validity) { i, out in
                out.append(contentsOf: CivilTime.rfc3339(c.int64s[i]).utf8)
            }
        }
    }
}

extension Column {
    /// The same storage under another type of the same storage class.
    func retyped(_ type: FieldType) -> Column {
        precondition(type.storage == self.type.storage)
        var c = Column(type: type)
        c.int64s = int64s
        c.doubles = doubles
        c.bools = bools
        c.strings = strings
        c.validity = validity
        return c
    }
}
