/// `cast(x as T)`. A value that does not convert (unparsable text, out of range) becomes null.
/// Decimal → int64 truncates toward zero; lowering a decimal's scale rounds half to even, as decoding does.
extension ExpressionCompiler {
    func cast(_ a: Node, to type: FieldType, at o: Int) throws(ExpressionError) -> Node {
        guard let from = a.type else { return .constant(.null, type, at: o) }
        if from == type { return a }
        let eval = a.eval
        func node(_ body: @escaping @Sendable (Column) -> Column) -> Node {
            Node(type: type, eval: { body(eval($0)) }, offset: o)
        }
        switch (from, type) {
        case (_, .string):
            return node { Kernels.toStrings($0) }
        case (.string, _):
            return node { c in Self.parse(c, as: type) }
        case (.int64, .double), (.decimal, .double), (.timestamp, .double):
            return node { Kernels.toDouble($0) }
        case (.int64, .timestamp), (.timestamp, .int64):
            return node { $0.retyped(type) }
        case (.int64, .decimal(let s)):
            return node { Kernels.rescale($0, from: 0, to: s) }
        case (.decimal(let f), .decimal(let s)):
            if s > f { return node { Kernels.rescale($0, from: f, to: s) } }
            return node { c in Kernels.mapInt64(c, type) { Kernels.reduceScale($0, by: f - s, halfEven: true) } }
        case (.decimal(let f), .int64):
            let p = Kernels.powersOfTen[f]
            return node { c in Kernels.mapInt64(c, .int64) { $0 / p } }
        case (.double, .int64), (.double, .decimal), (.double, .timestamp):
            let p = Double(Kernels.powersOfTen[type.scale])
            return node { c in
                Self.build(c, type) { i in
                    let v = (c.doubles[i] * p).rounded(
                        type == .int64 || type == .timestamp ? .towardZero : .toNearestOrEven
                    )
                    return v >= -9.223372036854775808e18 && v < 9.223372036854775808e18 ? .int64(Int64(v)) : nil
                }
            }
        case (.bool, .int64):
            return node { c in Self.build(c, type) { .int64(c.bools[$0] ? 1 : 0) } }
        case (.int64, .bool):
            return node { c in Self.build(c, type) { .bool(c.int64s[$0] != 0) } }
        default:
            throw ExpressionError("cannot cast \(from) to \(type)", at: o)
        }
    }

    /// Text to `type`, row by row; unparsable text is null.
    static func parse(_ c: Column, as type: FieldType) -> Column {
        c.strings.bytes.withUnsafeBufferPointer { buffer in
            build(c, type) { i in
                let r = c.strings.range(i)
                // Empty text is no value of any type.
                guard let base = buffer.baseAddress, !r.isEmpty else { return nil }
                let p = base + r.lowerBound
                let n = r.count
                switch type {
                case .int64: if case .success(let v) = ScalarText.int64(p, n) { return .int64(v) }
                case .decimal(let s): if case .success(let v) = ScalarText.decimal(p, n, scale: s) { return .int64(v) }
                case .timestamp: return ScalarText.timestamp(p, n).map { .int64($0) }
                case .double: return ScalarText.double(p, n).map { .double($0) }
                case .bool: return ScalarText.bool(p, n).map { .bool($0) }
                case .string: return nil
                }
                return nil
            }
        }
    }

    /// A column of `type` from a per-row function over the valid rows of `input`; nil results are null.
    @inline(__always)
    static func build(_ input: Column, _ type: FieldType, _ row: (Int) -> Value?) -> Column {
        var out = Column(type: type)
        let n = input.count
        var valid = input.validity ?? Array(repeating: true, count: n)
        var anyNull = input.validity != nil
        for i in 0..<n {
            let v = valid[i] ? row(i) : nil
            if v == nil {
                valid[i] = false
                anyNull = true
            }
            switch v {
            case .int64(let x)?: out.int64s.append(x)
            case .double(let x)?: out.doubles.append(x)
            case .bool(let x)?: out.bools.append(x)
            default:
                switch type.storage {
                case .int64: out.int64s.append(0)
                case .double: out.doubles.append(0)
                case .bool: out.bools.append(false)
                case .string: out.strings.appendEmpty()
                }
            }
        }
        if anyNull { out.validity = valid }
        return out
    }
}
