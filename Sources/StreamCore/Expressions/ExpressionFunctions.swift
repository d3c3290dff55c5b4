/// The built-in functions: type rules at compile time, column loops at run time.
extension ExpressionCompiler {
    static let functionNames = [
        "lower", "upper", "concat", "substring", "length", "date_trunc", "format", "extract", "cast", "abs",
        "round", "coalesce",
    ]
    static let truncUnits = ["second", "minute", "hour", "day", "month", "year"]
    static let extractUnits = ["second", "minute", "hour", "day", "month", "year", "dow"]

    func call(_ name: String, _ args: [Node], _ exprs: [Expr], at o: Int) throws(ExpressionError) -> Node {
        func arity(_ lo: Int, _ hi: Int) throws(ExpressionError) {
            guard args.count < lo || args.count > hi else { return }
            let wanted = lo == hi ? "\(lo)" : hi == Int.max ? "at least \(lo)" : "\(lo) or \(hi)"
            throw ExpressionError(
                "\(name)() takes \(wanted) argument\(wanted == "1" ? "" : "s"), found \(args.count)",
                at: o
            )
        }
        switch name {
        case "lower", "upper":
            try arity(1, 1)
            let s = try expect(args[0], .string, name)
            let upper = name == "upper"
            return Node(type: .string, eval: { Self.changeCase(s.eval($0), upper: upper) }, offset: o)
        case "length":
            try arity(1, 1)
            let s = try expect(args[0], .string, name)
            return Node(
                type: .int64,
                eval: { batch in
                    let c = s.eval(batch)
                    var out = Column(type: .int64)
                    out.int64s = (0..<c.count).map { i in
                        Int64(c.strings.bytes[c.strings.range(i)].reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) })
                    }
                    out.validity = c.validity
                    return out
                },
                offset: o
            )
        case "concat":
            try arity(1, .max)
            let parts = args.map { $0.isNullLiteral ? Node.constant(.null, .string, at: $0.offset) : $0 }
            return Node(
                type: .string,
                eval: { batch in
                    let cols = parts.map { Kernels.toStrings($0.eval(batch)) }
                    let valid = cols.dropFirst().reduce(cols[0].validity) { v, c in
                        Kernels.validity(v, c.validity)
                    }
                    return Kernels.buildStrings(batch.count, validity: valid) { i, out in
                        for c in cols { out.append(contentsOf: c.strings.bytes[c.strings.range(i)]) }
                    }
                },
                offset: o
            )
        case "substring":
            try arity(2, 3)
            let s = try expect(args[0], .string, name)
            let start = try expect(args[1], .int64, name)
            let length = try args.count == 3 ? expect(args[2], .int64, name) : nil
            return Node(
                type: .string,
                eval: { batch in
                    Self.substring(s.eval(batch), start.eval(batch), length?.eval(batch))
                },
                offset: o
            )
        case "date_trunc", "extract":
            try arity(2, 2)
            let units = name == "extract" ? Self.extractUnits : Self.truncUnits
            let unit = try literalString(args[0], name, example: "'hour'", choices: units)
            let ts = try expect(args[1], .timestamp, name)
            if name == "extract" {
                return Node(
                    type: .int64,
                    eval: { batch in
                        Kernels.mapInt64(ts.eval(batch), .int64) { Self.extract(unit, $0) }
                    },
                    offset: o
                )
            }
            return Node(
                type: .timestamp,
                eval: { batch in
                    Kernels.mapInt64(ts.eval(batch), .timestamp) { Self.truncate(unit, $0) }
                },
                offset: o
            )
        case "format":
            try arity(2, 2)
            let ts = try expect(args[0], .timestamp, name)
            let pattern = try TimeFormat(try literalString(args[1], name, example: "'%Y-%m-%d'"), at: args[1].offset)
            return Node(
                type: .string,
                eval: { batch in
                    let c = ts.eval(batch)
                    return Kernels.buildStrings(c.count, validity: c.validity) { i, out in
                        pattern.append(c.int64s[i], to: &out)
                    }
                },
                offset: o
            )
        case "abs":
            try arity(1, 1)
            let x = args[0]
            switch x.type {
            case nil: return .constant(.null, .int64, at: o)
            case .int64?, .decimal?:
                return Node(
                    type: x.type,
                    eval: { batch in
                        Kernels.mapInt64(x.eval(batch), x.type!) { $0 == .min ? nil : Swift.abs($0) }
                    },
                    offset: o
                )
            case .double?:
                return Node(
                    type: .double,
                    eval: { batch in
                        var c = x.eval(batch)
                        c.doubles = c.doubles.map { Swift.abs($0) }
                        return c
                    },
                    offset: o
                )
            default: throw ExpressionError("abs() needs a number, found \(x.typeName)", at: x.offset)
            }
        case "round": return try round(args, at: o, arity: arity)
        case "coalesce":
            try arity(1, .max)
            var common: FieldType? = nil
            for a in args {
                guard let t = a.type else { continue }
                guard let c = common else {
                    common = t
                    continue
                }
                guard let p = Self.promote(c, t) else {
                    throw ExpressionError("coalesce() arguments must have one type: \(c) and \(t)", at: a.offset)
                }
                common = p
            }
            guard let type = common else { return .constant(.null, .string, at: o) }
            let parts = args.map { Self.widen($0, to: type) }
            return Node(type: type, eval: { batch in Self.coalesce(parts.map { $0.eval(batch) }, type) }, offset: o)
        default:
            throw ExpressionError(
                "unknown function `\(name)`",
                at: o,
                help: nearest(name, in: Self.functionNames).map { "did you mean `\($0)`?" }
                    ?? "functions are " + Self.functionNames.joined(separator: ", ")
            )
        }
    }

    /// `node` if it has `type` (a null literal becomes a typed null); otherwise an error naming the function.
    func expect(_ node: Node, _ type: FieldType, _ function: String) throws(ExpressionError) -> Node {
        if node.isNullLiteral { return .constant(.null, type, at: node.offset) }
        guard node.type == type else {
            throw ExpressionError(
                "\(function)() needs a \(type), found \(node.typeName)",
                at: node.offset,
                help: "convert with cast(x as \(type))"
            )
        }
        return node
    }

    func literalString(_ node: Node, _ function: String, example: String, choices: [String]? = nil)
        throws(ExpressionError) -> String
    {
        guard node.type == .string, case .string(let s)? = node.constant else {
            throw ExpressionError("\(function)() needs a string literal here, e.g. \(example)", at: node.offset)
        }
        guard let choices else { return s }
        let lower = s.lowercased()
        if !choices.contains(lower) {
            throw ExpressionError(
                "unknown unit '\(s)' for \(function)()",
                at: node.offset,
                help: nearest(lower, in: choices).map { "did you mean '\($0)'?" }
                    ?? "units are " + choices.map { "'\($0)'" }.joined(separator: ", ")
            )
        }
        return lower
    }

    func round(_ args: [Node], at o: Int, arity: (Int, Int) throws(ExpressionError) -> Void) throws(ExpressionError)
        -> Node
    {
        try arity(1, 2)
        var requested = 0
        if args.count == 2 {
            guard args[1].type == .int64, case .int64(let d)? = args[1].constant, abs(d) <= 18 else {
                throw ExpressionError(
                    "round() needs the digits as an integer literal between -18 and 18",
                    at: args[1].offset
                )
            }
            requested = Int(d)
        }
        let digits = requested
        let x = args[0]
        switch x.type {
        case nil: return .constant(.null, .int64, at: o)
        case .double?:
            let p = (0..<abs(digits)).reduce(1.0) { r, _ in r * 10 }
            return Node(
                type: .double,
                eval: { batch in
                    var c = x.eval(batch)
                    c.doubles = c.doubles.map { v in
                        digits >= 0
                            ? (v * p).rounded(.toNearestOrAwayFromZero) / p
                            : (v / p).rounded(.toNearestOrAwayFromZero) * p
                    }
                    return c
                },
                offset: o
            )
        case .int64?, .decimal?:
            let scale = x.type!.scale
            if digits >= scale { return x }
            let kept = max(digits, 0)
            let type: FieldType = x.type == .int64 ? .int64 : .decimal(scale: kept)
            let back = Kernels.powersOfTen[kept - digits]
            return Node(
                type: type,
                eval: { batch in
                    Kernels.mapInt64(x.eval(batch), type) { v in
                        Self.checked(
                            Kernels.reduceScale(v, by: scale - digits, halfEven: false).multipliedReportingOverflow(
                                by: back
                            )
                        )
                    }
                },
                offset: o
            )
        default: throw ExpressionError("round() needs a number, found \(x.typeName)", at: x.offset)
        }
    }
}
