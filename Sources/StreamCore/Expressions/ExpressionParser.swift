/// The parsed, untyped expression tree. `offset` points at the token to blame in errors.
indirect enum Expr {
    case literal(Value, offset: Int)
    case field(String, offset: Int)
    case unary(String, Expr, offset: Int)
    case binary(String, Expr, Expr, offset: Int)
    case isNull(Expr, negated: Bool, offset: Int)
    case inList(Expr, [Expr], negated: Bool, offset: Int)
    case call(String, [Expr], offset: Int)
    case cast(Expr, FieldType, offset: Int)

    var offset: Int {
        switch self {
        case .literal(_, let o), .field(_, let o), .unary(_, _, let o), .binary(_, _, _, let o),
            .isNull(_, _, let o), .inList(_, _, _, let o), .call(_, _, let o), .cast(_, _, let o):
            o
        }
    }
}

/// Recursive-descent parser. Precedence, lowest first: `or`, `and`, `not`, comparisons / `is` / `in`,
/// `+ -`, `* / %`, unary minus.
struct Parser {
    let tokens: [Token]
    var k = 0

    static let reserved: Set<String> = ["and", "or", "not", "in", "is", "null", "true", "false", "as"]

    static func parse(_ text: String) throws(ExpressionError) -> Expr {
        var p = Parser(tokens: try Lexer.tokens(text))
        if p.current.kind == .end { throw ExpressionError("empty expression", at: 0) }
        let e = try p.orExpr()
        guard p.current.kind == .end else {
            throw ExpressionError("unexpected \(p.describe(p.current)) after the expression", at: p.current.offset)
        }
        return e
    }

    var current: Token { tokens[k] }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .end: "end of expression"
        case .integer(let v): v == .min ? "`9223372036854775808`" : "`\(v)`"
        case .decimal(let v, let s): "`\(DecimalFormat.string(v, scale: s))`"
        case .double(let v): "`\(v)`"
        case .string(let s): "'\(s)'"
        case .identifier(let s): "`\(s)`"
        case .quoted(let s): "`\(s)`"
        case .symbol(let s): "`\(s)`"
        }
    }

    mutating func expectSymbol(_ s: String, _ context: String) throws(ExpressionError) {
        guard current.isSymbol(s) else {
            throw ExpressionError("expected `\(s)` \(context), found \(describe(current))", at: current.offset)
        }
        k += 1
    }

    mutating func orExpr() throws(ExpressionError) -> Expr {
        var left = try andExpr()
        while current.isKeyword("or") {
            let o = current.offset
            k += 1
            left = .binary("or", left, try andExpr(), offset: o)
        }
        return left
    }

    mutating func andExpr() throws(ExpressionError) -> Expr {
        var left = try notExpr()
        while current.isKeyword("and") {
            let o = current.offset
            k += 1
            left = .binary("and", left, try notExpr(), offset: o)
        }
        return left
    }

    mutating func notExpr() throws(ExpressionError) -> Expr {
        if current.isKeyword("not") {
            let o = current.offset
            k += 1
            return .unary("not", try notExpr(), offset: o)
        }
        return try comparison()
    }

    static let comparisons: Set<String> = ["=", "==", "!=", "<>", "<", "<=", ">", ">="]

    mutating func comparison() throws(ExpressionError) -> Expr {
        let left = try additive()
        if case .symbol(let s) = current.kind, Self.comparisons.contains(s) {
            let o = current.offset
            k += 1
            let op = s == "==" ? "=" : s == "<>" ? "!=" : s
            return .binary(op, left, try additive(), offset: o)
        }
        if current.isKeyword("is") {
            let o = current.offset
            k += 1
            let negated = current.isKeyword("not")
            if negated { k += 1 }
            guard current.isKeyword("null") else {
                throw ExpressionError("expected `null` after `is`, found \(describe(current))", at: current.offset)
            }
            k += 1
            return .isNull(left, negated: negated, offset: o)
        }
        let negated = current.isKeyword("not") && tokens[k + 1].isKeyword("in")
        if current.isKeyword("in") || negated {
            let o = current.offset
            k += negated ? 2 : 1
            try expectSymbol("(", "after `in`")
            var items = [try additive()]
            while current.isSymbol(",") {
                k += 1
                items.append(try additive())
            }
            try expectSymbol(")", "to close the `in` list")
            return .inList(left, items, negated: negated, offset: o)
        }
        return left
    }

    mutating func additive() throws(ExpressionError) -> Expr {
        var left = try multiplicative()
        while case .symbol(let s) = current.kind, s == "+" || s == "-" {
            let o = current.offset
            k += 1
            left = .binary(s, left, try multiplicative(), offset: o)
        }
        return left
    }

    mutating func multiplicative() throws(ExpressionError) -> Expr {
        var left = try unary()
        while case .symbol(let s) = current.kind, s == "*" || s == "/" || s == "%" {
            let o = current.offset
            k += 1
            left = .binary(s, left, try unary(), offset: o)
        }
        return left
    }

    mutating func unary() throws(ExpressionError) -> Expr {
        if current.isSymbol("-") {
            let o = current.offset
            k += 1
            // Fold `-literal` so that -9223372036854775808 is representable.
            if case .integer(let v) = current.kind {
                k += 1
                return .literal(.int64(v == .min ? .min : -v), offset: o)
            }
            return .unary("-", try unary(), offset: o)
        }
        if current.isSymbol("+") {
            k += 1
            return try unary()
        }
        return try primary()
    }

    mutating func primary() throws(ExpressionError) -> Expr {
        let t = current
        k += 1
        switch t.kind {
        case .integer(let v):
            guard v != .min else {
                throw ExpressionError(
                    "integer literal `9223372036854775808` out of range",
                    at: t.offset,
                    help: "write it with an exponent (e.g. 1e20) for a double"
                )
            }
            return .literal(.int64(v), offset: t.offset)
        case .decimal(let v, let s): return .literal(.decimal(v, scale: s), offset: t.offset)
        case .double(let v): return .literal(.double(v), offset: t.offset)
        case .string(let s): return .literal(.string(s), offset: t.offset)
        case .quoted(let name): return .field(name, offset: t.offset)
        case .symbol("("):
            let e = try orExpr()
            try expectSymbol(")", "to close `(`")
            return e
        case .identifier(let name):
            let lower = name.lowercased()
            switch lower {
            case "true": return .literal(.bool(true), offset: t.offset)
            case "false": return .literal(.bool(false), offset: t.offset)
            case "null": return .literal(.null, offset: t.offset)
            default: break
            }
            if lower == "timestamp", case .string(let s) = current.kind {
                k += 1
                guard let ms = CivilTime.parseRFC3339(s) else {
                    throw ExpressionError(
                        "invalid timestamp literal '\(s)'",
                        at: tokens[k - 1].offset,
                        help: "write RFC 3339, e.g. timestamp '2026-11-27T00:00:00Z'"
                    )
                }
                return .literal(.timestamp(ms), offset: t.offset)
            }
            if current.isSymbol("(") {
                k += 1
                if lower == "cast" { return try castRest(offset: t.offset) }
                var args: [Expr] = []
                if !current.isSymbol(")") {
                    args.append(try orExpr())
                    while current.isSymbol(",") {
                        k += 1
                        args.append(try orExpr())
                    }
                }
                try expectSymbol(")", "to close the arguments of \(lower)()")
                return .call(lower, args, offset: t.offset)
            }
            if Self.reserved.contains(lower) {
                throw ExpressionError(
                    "unexpected keyword `\(name)`",
                    at: t.offset,
                    help: "write `\(name)` in backquotes if it is a field name"
                )
            }
            return .field(name, offset: t.offset)
        default:
            throw ExpressionError("expected a value, found \(describe(t))", at: t.offset)
        }
    }

    mutating func castRest(offset: Int) throws(ExpressionError) -> Expr {
        let value = try orExpr()
        guard current.isKeyword("as") else {
            throw ExpressionError(
                "expected `as` in cast, found \(describe(current))",
                at: current.offset,
                help: "write cast(x as int64)"
            )
        }
        k += 1
        let typeToken = current
        guard case .identifier(let name) = typeToken.kind else {
            throw ExpressionError("expected a type name, found \(describe(typeToken))", at: typeToken.offset)
        }
        k += 1
        var typeName = name.lowercased()
        if typeName == "decimal", current.isSymbol("(") {
            k += 1
            guard case .integer(let scale) = current.kind else {
                throw ExpressionError("expected the decimal scale, found \(describe(current))", at: current.offset)
            }
            k += 1
            try expectSymbol(")", "after the decimal scale")
            typeName = "decimal(\(scale))"
        }
        guard let type = FieldType(name: typeName) else {
            throw ExpressionError(
                "unknown type `\(typeName)`",
                at: typeToken.offset,
                help: nearest(typeName, in: FieldType.allNames).map { "did you mean `\($0)`?" }
                    ?? "types are " + FieldType.allNames.joined(separator: ", ")
            )
        }
        try expectSymbol(")", "to close cast(")
        return .cast(value, type, offset: offset)
    }
}
