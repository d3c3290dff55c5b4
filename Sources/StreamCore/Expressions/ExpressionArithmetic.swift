extension ExpressionCompiler {
    /// `+ - * / %` with numeric promotion (int64 < decimal < double) and timestamp arithmetic in
    /// milliseconds. Overflow and division by zero give null.
    func arithmetic(_ op: String, _ a0: Node, _ b0: Node, at o: Int) throws(ExpressionError) -> Node {
        var a = a0
        var b = b0
        if a.isNullLiteral && b.isNullLiteral { return .constant(.null, .int64, at: o) }
        // An untyped null takes the other operand's type (timestamps: the int64 they combine with).
        if a.isNullLiteral { a = .constant(.null, b.type == .timestamp ? .int64 : b.type, at: a.offset) }
        if b.isNullLiteral { b = .constant(.null, a.type == .timestamp ? .int64 : a.type, at: b.offset) }
        let ta = a.type!
        let tb = b.type!
        switch (ta, tb, op) {
        case (.timestamp, .timestamp, "-"):
            return intNode(a, b, .int64, at: o) { x, y in Self.checked(x.subtractingReportingOverflow(y)) }
        case (.timestamp, .int64, "+"), (.int64, .timestamp, "+"):
            return intNode(a.retypedIfInt(.timestamp), b.retypedIfInt(.timestamp), .timestamp, at: o) { x, y in
                Self.checked(x.addingReportingOverflow(y))
            }
        case (.timestamp, .int64, "-"):
            return intNode(a, b.retypedIfInt(.timestamp), .timestamp, at: o) { x, y in
                Self.checked(x.subtractingReportingOverflow(y))
            }
        default: break
        }
        guard ta.isNumeric, tb.isNumeric, let common = Self.promote(ta, tb) else {
            let help: String? =
                op == "+" && (ta == .string || tb == .string)
                ? "use concat(a, b) to join strings"
                : ta == .timestamp || tb == .timestamp
                    ? "timestamps take + and - of int64 milliseconds, or - of a timestamp"
                    : nil
            throw ExpressionError("cannot apply `\(op)` to \(ta) and \(tb)", at: o, help: help)
        }
        if common == .double || (op == "/" && common != .int64) {
            let x = Self.widen(a, to: .double)
            let y = Self.widen(b, to: .double)
            return Node(
                type: .double,
                eval: { batch in
                    let l = x.eval(batch)
                    let r = y.eval(batch)
                    switch op {
                    case "+": return Kernels.doubles(l, r) { $0 + $1 }
                    case "-": return Kernels.doubles(l, r) { $0 - $1 }
                    case "*": return Kernels.doubles(l, r) { $0 * $1 }
                    case "/": return Kernels.doubles(l, r) { $1 == 0 ? nil : $0 / $1 }
                    default: return Kernels.doubles(l, r) { $1 == 0 ? nil : $0.truncatingRemainder(dividingBy: $1) }
                    }
                },
                offset: o
            )
        }
        if op == "*", case .decimal = common {
            let sa = ta.scale
            let sb = tb.scale
            guard sa + sb <= 18 else {
                return try arithmetic(op, Self.widen(a, to: .double), Self.widen(b, to: .double), at: o)
            }
            return intNode(a, b, .decimal(scale: sa + sb), at: o) { x, y in
                Self.checked(x.multipliedReportingOverflow(by: y))
            }
        }
        let x = Self.widen(a, to: common)
        let y = Self.widen(b, to: common)
        switch op {
        case "+": return intNode(x, y, common, at: o) { Self.checked($0.addingReportingOverflow($1)) }
        case "-": return intNode(x, y, common, at: o) { Self.checked($0.subtractingReportingOverflow($1)) }
        case "*": return intNode(x, y, common, at: o) { Self.checked($0.multipliedReportingOverflow(by: $1)) }
        case "/":
            return intNode(x, y, common, at: o) { $1 == 0 ? nil : Self.checked($0.dividedReportingOverflow(by: $1)) }
        default: return intNode(x, y, common, at: o) { $1 == 0 ? nil : ($1 == -1 ? 0 : $0 % $1) }
        }
    }

    @inline(__always)
    static func checked(_ r: (partialValue: Int64, overflow: Bool)) -> Int64? { r.overflow ? nil : r.partialValue }

    func intNode(
        _ a: Node,
        _ b: Node,
        _ type: FieldType,
        at o: Int,
        _ op: @escaping @Sendable (Int64, Int64) -> Int64?
    ) -> Node {
        Node(type: type, eval: { batch in Kernels.int64s(a.eval(batch), b.eval(batch), type, op) }, offset: o)
    }
}

extension FieldType {
    /// Fractional digits of a decimal; 0 for other types.
    var scale: Int {
        if case .decimal(let s) = self { return s }
        return 0
    }
}

extension Node {
    /// An int64 node seen as another Int64-stored type (timestamp arithmetic).
    func retypedIfInt(_ type: FieldType) -> Node {
        guard self.type == .int64 else { return self }
        var n = self
        n.type = type
        let e = eval
        n.eval = { e($0).retyped(type) }
        return n
    }
}
