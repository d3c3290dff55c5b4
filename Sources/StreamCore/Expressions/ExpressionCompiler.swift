/// A compiled subexpression: its type, and either a constant or a batch-at-a-time closure.
/// `type == nil` is the untyped `null` literal, typed later by its context.
struct Node {
    var type: FieldType?
    var constant: Value?
    var eval: @Sendable (Batch) -> Column
    var offset: Int

    static func constant(_ v: Value, _ type: FieldType?, at offset: Int) -> Node {
        let t = type ?? .string
        return Node(type: type, constant: v, eval: { Kernels.broadcast(v, as: t, count: $0.count) }, offset: offset)
    }

    var isNullLiteral: Bool { type == nil }
    var typeName: String { type?.description ?? "null" }
}

/// Type-checks the syntax tree against a schema and builds the closures.
struct ExpressionCompiler {
    let schema: Schema

    /// A one-row batch used to fold constant subtrees.
    private static let unitBatch = Batch(schema: Schema([Field("_", .bool)]), columns: [Column(bools: [false])])

    /// Folds a node whose inputs are all constants into a constant.
    func fold(_ node: Node, inputs: [Node]) -> Node {
        guard inputs.allSatisfy({ $0.constant != nil }), let type = node.type else { return node }
        let v = Kernels.value(node.eval(Self.unitBatch), 0)
        return .constant(v, type, at: node.offset)
    }

    func compile(_ e: Expr) throws(ExpressionError) -> Node {
        switch e {
        case .literal(let v, let o):
            return .constant(v, Self.literalType(v), at: o)
        case .field(let name, let o):
            guard let index = schema.index(of: name) else {
                throw ExpressionError(
                    "unknown field `\(name)`",
                    at: o,
                    help: nearest(name, in: schema.fields.map(\.name)).map { "did you mean `\($0)`?" }
                )
            }
            return Node(type: schema[index].type, eval: { $0.columns[index] }, offset: o)
        case .unary(let op, let x, let o):
            let a = try compile(x)
            return fold(try unary(op, a, at: o), inputs: [a])
        case .binary(let op, let x, let y, let o):
            let a = try compile(x)
            let b = try compile(y)
            let node: Node
            switch op {
            case "and", "or": node = try logical(op, a, b, at: o)
            case "+", "-", "*", "/", "%": node = try arithmetic(op, a, b, at: o)
            default: node = try comparison(Kernels.Comparison(rawValue: op)!, a, b, at: o)
            }
            return fold(node, inputs: [a, b])
        case .isNull(let x, let negated, let o):
            let a = try compile(x)
            let node = Node(
                type: .bool,
                eval: { batch in
                    let c = a.eval(batch)
                    var out = Column(type: .bool)
                    out.bools =
                        c.validity.map { v in v.map { $0 == negated } } ?? Array(repeating: negated, count: c.count)
                    return out
                },
                offset: o
            )
            return fold(node, inputs: [a])
        case .inList(let x, let items, let negated, let o):
            // x in (a, b) is x = a or x = b, with SQL's three-valued logic for nulls.
            var result: Expr? = nil
            for item in items {
                let eq = Expr.binary("=", x, item, offset: item.offset)
                result = result.map { .binary("or", $0, eq, offset: o) } ?? eq
            }
            return try compile(negated ? .unary("not", result!, offset: o) : result!)
        case .call(let name, let args, let o):
            let nodes = try args.map { (a) throws(ExpressionError) -> Node in try compile(a) }
            return fold(try call(name, nodes, args, at: o), inputs: nodes)
        case .cast(let x, let type, let o):
            let a = try compile(x)
            return fold(try cast(a, to: type, at: o), inputs: [a])
        }
    }

    static func literalType(_ v: Value) -> FieldType? {
        switch v {
        case .null: nil
        case .int64: .int64
        case .double: .double
        case .bool: .bool
        case .string: .string
        case .timestamp: .timestamp
        case .decimal(_, let s): .decimal(scale: s)
        }
    }

    // MARK: - Operators

    func unary(_ op: String, _ a: Node, at o: Int) throws(ExpressionError) -> Node {
        if op == "not" {
            let a = try expectBool(a, "`not`")
            return Node(
                type: .bool,
                eval: { batch in
                    var c = a.eval(batch)
                    c.bools = c.bools.map { !$0 }
                    return c
                },
                offset: o
            )
        }
        switch a.type {
        case nil: return .constant(.null, .int64, at: o)
        case .int64, .decimal:
            return Node(
                type: a.type,
                eval: { batch in
                    Kernels.mapInt64(a.eval(batch), a.type!) { x in x == .min ? nil : -x }
                },
                offset: o
            )
        case .double:
            return Node(
                type: .double,
                eval: { batch in
                    var c = a.eval(batch)
                    c.doubles = c.doubles.map { -$0 }
                    return c
                },
                offset: o
            )
        default:
            throw ExpressionError("cannot negate a \(a.typeName)", at: o)
        }
    }

    func expectBool(_ a: Node, _ what: String) throws(ExpressionError) -> Node {
        if a.isNullLiteral { return .constant(.null, .bool, at: a.offset) }
        guard a.type == .bool else {
            throw ExpressionError(
                "\(what) needs a bool, found \(a.typeName)",
                at: a.offset,
                help: "compare it, e.g. `x = 1` or `x is not null`"
            )
        }
        return a
    }

    func logical(_ op: String, _ a: Node, _ b: Node, at o: Int) throws(ExpressionError) -> Node {
        let a = try expectBool(a, "`\(op)`")
        let b = try expectBool(b, "`\(op)`")
        let isAnd = op == "and"
        return Node(
            type: .bool,
            eval: { batch in
                let x = a.eval(batch)
                let y = b.eval(batch)
                var out = Column(type: .bool)
                if x.validity == nil && y.validity == nil {
                    out.bools = isAnd ? zip(x.bools, y.bools).map { $0 && $1 } : zip(x.bools, y.bools).map { $0 || $1 }
                    return out
                }
                // Kleene logic: false and null = false, true or null = true, otherwise null wins.
                let n = x.count
                out.bools = Array(repeating: false, count: n)
                var valid = Array(repeating: true, count: n)
                for i in 0..<n {
                    let xv = x.isValid(i)
                    let yv = y.isValid(i)
                    let xb = x.bools[i]
                    let yb = y.bools[i]
                    if isAnd {
                        if (xv && !xb) || (yv && !yb) {
                            out.bools[i] = false
                        } else if xv && yv {
                            out.bools[i] = true
                        } else {
                            valid[i] = false
                        }
                    } else {
                        if (xv && xb) || (yv && yb) {
                            out.bools[i] = true
                        } else if xv && yv {
                            out.bools[i] = false
                        } else {
                            valid[i] = false
                        }
                    }
                }
                out.validity = valid
                return out
            },
            offset: o
        )
    }

    /// The common type two operands are compared or combined in: int64 < decimal < double.
    static func promote(_ a: FieldType, _ b: FieldType) -> FieldType? {
        switch (a, b) {
        case (.double, _) where b.isNumeric, (_, .double) where a.isNumeric: .double
        case (.decimal(let s), .decimal(let t)): .decimal(scale: max(s, t))
        case (.decimal(let s), .int64), (.int64, .decimal(let s)): .decimal(scale: s)
        case (.int64, .int64): .int64
        default: a == b ? a : nil
        }
    }

    /// `a` as a column of `type` (int64 → decimal → double widening, or the same type).
    static func widen(_ a: Node, to type: FieldType) -> Node {
        guard let from = a.type else { return .constant(.null, type, at: a.offset) }
        if from == type { return a }
        var n = a
        n.type = type
        switch (from, type) {
        case (_, .double): n.eval = { Kernels.toDouble(a.eval($0)) }
        case (.int64, .decimal(let s)): n.eval = { Kernels.rescale(a.eval($0), from: 0, to: s) }
        case (.decimal(let f), .decimal(let s)): n.eval = { Kernels.rescale(a.eval($0), from: f, to: s) }
        default: n.eval = { a.eval($0).retyped(type) }
        }
        return n
    }

    func comparison(_ op: Kernels.Comparison, _ a0: Node, _ b0: Node, at o: Int) throws(ExpressionError) -> Node {
        var a = a0
        var b = b0
        // A string literal compared with a timestamp is read as a timestamp literal.
        if a.type == .timestamp, b.type == .string, case .string(let s)? = b.constant {
            b = try timestampLiteral(s, b)
        }
        if b.type == .timestamp, a.type == .string, case .string(let s)? = a.constant {
            a = try timestampLiteral(s, a)
        }
        if a.isNullLiteral || b.isNullLiteral { return .constant(.null, .bool, at: o) }
        guard let common = Self.promote(a.type!, b.type!) else {
            throw ExpressionError(
                "cannot compare \(a.typeName) with \(b.typeName)",
                at: o,
                help: a.type == .string || b.type == .string ? "convert with cast(x as ...)" : nil
            )
        }
        let x = Self.widen(a, to: common)
        let y = Self.widen(b, to: common)
        return Node(
            type: .bool,
            eval: { batch in
                let l = x.eval(batch)
                let r = y.eval(batch)
                var out = Column(type: .bool)
                switch common.storage {
                case .int64: out.bools = Kernels.compare(l.int64s, r.int64s, op)
                case .double: out.bools = Kernels.compare(l.doubles, r.doubles, op)
                case .bool: out.bools = Kernels.compare(l.bools.map { $0 ? 1 : 0 }, r.bools.map { $0 ? 1 : 0 }, op)
                case .string: out.bools = Kernels.compareStrings(l, r, op)
                }
                out.validity = Kernels.validity(l, r)
                return out
            },
            offset: o
        )
    }

    func timestampLiteral(_ s: String, _ node: Node) throws(ExpressionError) -> Node {
        guard let ms = CivilTime.parseRFC3339(s) else {
            throw ExpressionError(
                "'\(s)' is not a timestamp",
                at: node.offset,
                help: "write RFC 3339, e.g. '2026-11-27T00:00:00Z'"
            )
        }
        return .constant(.timestamp(ms), .timestamp, at: node.offset)
    }
}
