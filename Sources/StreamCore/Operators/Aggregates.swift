/// The running value of one aggregate for one key and window. Plain fields rather than an enum so that a
/// slot array of them updates in place.
public struct Accumulator: Sendable, Equatable {
    public var has = false
    public var count: Int64 = 0
    public var i: Int64 = 0
    public var d: Double = 0
    /// Event time of the value, for first/last.
    public var ts: Int64 = 0
    public var s: [UInt8] = []
    public init() {}
}

/// One aggregate bound to its input column: how to update, merge, encode and output it.
public struct BoundAggregate: Sendable {
    public let name: String
    public let function: AggregateFunction
    public let input: Int?
    public let inputType: FieldType?
    public let outputType: FieldType

    public init(_ spec: AggregateSpec, schema: Schema) throws(StreamError) {
        name = spec.name
        function = spec.function
        if let f = spec.field {
            guard let idx = schema.index(of: f) else {
                throw StreamError(.config, "aggregate `\(spec.name)`: unknown field `\(f)`")
            }
            input = idx
            inputType = schema[idx].type
        } else {
            guard spec.function == .count else {
                throw StreamError(.config, "aggregate `\(spec.name)`: \(spec.function.rawValue)() needs a field")
            }
            input = nil
            inputType = nil
        }
        switch spec.function {
        case .count: outputType = .int64
        case .avg:
            guard inputType?.isNumeric == true else {
                throw StreamError(.config, "aggregate `\(spec.name)`: avg needs a numeric field")
            }
            outputType = .double
        case .sum:
            guard inputType?.isNumeric == true else {
                throw StreamError(.config, "aggregate `\(spec.name)`: sum needs a numeric field")
            }
            outputType = inputType!
        case .min, .max, .first, .last: outputType = inputType!
        }
    }

    public var outputField: Field { Field(name, outputType, nullable: function != .count) }

    /// Folds row `row` of `batch` (event time `ts`) into `acc`.
    @inline(__always)
    public func update(_ acc: inout Accumulator, _ batch: Batch, row: Int, ts: Int64) {
        guard let input else {
            acc.count += 1
            acc.has = true
            return
        }
        // The per-row cases read `batch.columns[input]` in place: a local copy of the column retains it.
        guard batch.columns[input].isValid(row) else { return }
        switch function {
        case .count:
            acc.count += 1
            acc.has = true
            return
        case .sum:
            if batch.columns[input].type.storage == .int64 {
                acc.i &+= batch.columns[input].int64s[row]
            } else {
                acc.d += batch.columns[input].doubles[row]
            }
            acc.has = true
            return
        default: break
        }
        let col = batch.columns[input]
        switch function {
        case .count, .sum: break
        case .avg:
            acc.d += numeric(col, row)
            acc.count += 1
            acc.has = true
        case .min, .max:
            var candidate = Accumulator()
            candidate.has = true
            load(&candidate, col, row)
            if !acc.has || better(candidate, than: acc) { acc = candidate }
        case .first, .last:
            var candidate = Accumulator()
            candidate.has = true
            candidate.ts = ts
            load(&candidate, col, row)
            if !acc.has || better(candidate, than: acc) { acc = candidate }
        }
    }

    /// Combines `other` into `acc` (pre-aggregated batch into stored state).
    public func merge(_ acc: inout Accumulator, _ other: Accumulator) {
        guard other.has else { return }
        guard acc.has else {
            acc = other
            return
        }
        switch function {
        case .count: acc.count += other.count
        case .sum:
            acc.i &+= other.i
            acc.d += other.d
        case .avg:
            acc.d += other.d
            acc.count += other.count
        case .min, .max, .first, .last:
            if better(other, than: acc) { acc = other }
        }
    }

    /// Order-independent choice, so results do not depend on arrival order or parallelism:
    /// first = earliest event time, last = latest; ties go to the smaller (first) or larger (last) value.
    private func better(_ a: Accumulator, than b: Accumulator) -> Bool {
        switch function {
        case .min: return compare(a, b) < 0
        case .max: return compare(a, b) > 0
        case .first: return a.ts < b.ts || (a.ts == b.ts && compare(a, b) < 0)
        case .last: return a.ts > b.ts || (a.ts == b.ts && compare(a, b) > 0)
        default: return false
        }
    }

    private func compare(_ a: Accumulator, _ b: Accumulator) -> Int {
        switch inputType!.storage {
        case .int64: return a.i < b.i ? -1 : (a.i == b.i ? 0 : 1)
        case .double: return a.d < b.d ? -1 : (a.d == b.d ? 0 : 1)
        case .bool: return a.i < b.i ? -1 : (a.i == b.i ? 0 : 1)
        case .string: return a.s.lexicographicallyPrecedes(b.s) ? -1 : (a.s == b.s ? 0 : 1)
        }
    }

    private func load(_ acc: inout Accumulator, _ col: Column, _ row: Int) {
        switch col.type.storage {
        case .int64: acc.i = col.int64s[row]
        case .double: acc.d = col.doubles[row]
        case .bool: acc.i = col.bools[row] ? 1 : 0
        case .string: acc.s = Array(col.strings.bytes[col.strings.range(row)])
        }
    }

    private func numeric(_ col: Column, _ row: Int) -> Double {
        switch col.type {
        case .double: return col.doubles[row]
        case .decimal(let scale):
            var p = 1.0
            for _ in 0..<scale { p *= 10 }
            return Double(col.int64s[row]) / p
        default: return Double(col.int64s[row])
        }
    }

    /// Appends the aggregate's final value to `column`.
    public func output(_ acc: Accumulator, into column: inout Column) {
        switch function {
        case .count:
            column.int64s.append(acc.count)
            column.markLastValid()
            return
        default: break
        }
        guard acc.has else {
            column.appendNull()
            return
        }
        switch function {
        case .avg: column.doubles.append(acc.d / Double(acc.count))
        case .sum where outputType.storage == .int64: column.int64s.append(acc.i)
        case .sum: column.doubles.append(acc.d)
        default:
            switch outputType.storage {
            case .int64: column.int64s.append(acc.i)
            case .double: column.doubles.append(acc.d)
            case .bool: column.bools.append(acc.i != 0)
            case .string: acc.s.withUnsafeBytes { column.strings.append(bytes: $0) }
            }
        }
        column.markLastValid()
    }
}

/// Binary layout of a list of accumulators in state: version byte, then per accumulator
/// `has(1) count(8) i(8) d(8) ts(8) len(4) bytes`.
public enum AccumulatorCodec {
    public static let version: UInt8 = 1

    public static func encode(_ accs: [Accumulator], extra: Int64 = 0) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(1 + 8 + accs.count * 37)
        appendBE(UInt64(bitPattern: extra), &out)
        for a in accs {
            out.append(a.has ? 1 : 0)
            appendBE(UInt64(bitPattern: a.count), &out)
            appendBE(UInt64(bitPattern: a.i), &out)
            appendBE(a.d.bitPattern, &out)
            appendBE(UInt64(bitPattern: a.ts), &out)
            appendBE32(UInt32(a.s.count), &out)
            out.append(contentsOf: a.s)
        }
        return out
    }

    /// Decodes `count` accumulators and the extra word stored beside them.
    public static func decode(_ bytes: [UInt8], count: Int) throws(StreamError) -> (accs: [Accumulator], extra: Int64) {
        guard bytes.first == version, bytes.count >= 9 else {
            throw StreamError(
                .state, "state value has unknown layout version \(bytes.first.map(String.init) ?? "none")")
        }
        let extra = Int64(bitPattern: readBE(bytes, at: 1))
        var p = 9
        var accs: [Accumulator] = []
        accs.reserveCapacity(count)
        for _ in 0..<count {
            guard p + 37 <= bytes.count else { throw StreamError(.state, "state value truncated") }
            var a = Accumulator()
            a.has = bytes[p] == 1
            a.count = Int64(bitPattern: readBE(bytes, at: p + 1))
            a.i = Int64(bitPattern: readBE(bytes, at: p + 9))
            a.d = Double(bitPattern: readBE(bytes, at: p + 17))
            a.ts = Int64(bitPattern: readBE(bytes, at: p + 25))
            let len = Int(readBE32(bytes, at: p + 33))
            p += 37
            guard p + len <= bytes.count else { throw StreamError(.state, "state value truncated") }
            if len > 0 { a.s = Array(bytes[p..<(p + len)]) }
            p += len
            accs.append(a)
        }
        return (accs, extra)
    }
}
