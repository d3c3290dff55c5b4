/// One token of an expression, with its 0-based character offset.
struct Token: Equatable {
    enum Kind: Equatable {
        case integer(Int64)
        /// A number with a point and no exponent: exact, `scale` fractional digits.
        case decimal(Int64, scale: Int)
        case double(Double)
        case string(String)
        /// A plain identifier (keywords too; compared case-insensitively by the parser).
        case identifier(String)
        /// A backquoted field name.
        case quoted(String)
        case symbol(String)
        case end
    }
    var kind: Kind
    var offset: Int

    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let name) = kind { return name.lowercased() == word }
        return false
    }

    func isSymbol(_ s: String) -> Bool { kind == .symbol(s) }
}

/// Splits expression text into tokens.
struct Lexer {
    let chars: [Unicode.Scalar]
    var i = 0

    init(_ text: String) { chars = Array(text.unicodeScalars) }

    static func tokens(_ text: String) throws(ExpressionError) -> [Token] {
        var lexer = Lexer(text)
        var out: [Token] = []
        while true {
            let t = try lexer.next()
            out.append(t)
            if t.kind == .end { return out }
        }
    }

    private func at(_ k: Int) -> Unicode.Scalar? { k < chars.count ? chars[k] : nil }

    private static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { ("0"..."9").contains($0) } ?? false }
    private static func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
    }

    mutating func next() throws(ExpressionError) -> Token {
        while let c = at(i), c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
        let start = i
        guard let c = at(i) else { return Token(kind: .end, offset: i) }
        if Self.isDigit(c) || (c == "." && Self.isDigit(at(i + 1))) { return try number() }
        if Self.isIdentStart(c) {
            while let d = at(i), Self.isIdentStart(d) || Self.isDigit(d) { i += 1 }
            return Token(kind: .identifier(String(String.UnicodeScalarView(chars[start..<i]))), offset: start)
        }
        switch c {
        case "'":
            var s = String.UnicodeScalarView()
            i += 1
            while true {
                guard let d = at(i) else {
                    throw ExpressionError("unterminated string literal", at: start, help: "close it with `'`")
                }
                i += 1
                if d == "'" {
                    if at(i) == "'" {
                        s.append("'")
                        i += 1
                        continue
                    }
                    return Token(kind: .string(String(s)), offset: start)
                }
                s.append(d)
            }
        case "`":
            guard let close = chars[(i + 1)...].firstIndex(of: "`") else {
                throw ExpressionError("unterminated quoted name", at: start, help: "close it with a backquote")
            }
            i = close + 1
            return Token(kind: .quoted(String(String.UnicodeScalarView(chars[(start + 1)..<close]))), offset: start)
        case "\"":
            throw ExpressionError(
                "double quotes are not allowed here",
                at: start,
                help: "use 'single quotes' for strings and `backquotes` for field names"
            )
        default: break
        }
        let two = at(i + 1).map { String(c) + String($0) } ?? ""
        switch two {
        case "<=", ">=", "!=", "<>", "==":
            i += 2
            return Token(kind: .symbol(two), offset: start)
        case "&&": throw ExpressionError("unexpected `&&`", at: start, help: "use `and`")
        case "||":
            throw ExpressionError("unexpected `||`", at: start, help: "use `or` (or concat(a, b) to join strings)")
        default: break
        }
        switch c {
        case "+", "-", "*", "/", "%", "(", ")", ",", "=", "<", ">":
            i += 1
            return Token(kind: .symbol(String(c)), offset: start)
        case "!": throw ExpressionError("unexpected `!`", at: start, help: "use `not`")
        case "&": throw ExpressionError("unexpected `&`", at: start, help: "use `and`")
        case "|": throw ExpressionError("unexpected `|`", at: start, help: "use `or`")
        default: throw ExpressionError("unexpected character `\(c)`", at: start)
        }
    }

    private mutating func number() throws(ExpressionError) -> Token {
        let start = i
        while Self.isDigit(at(i)) { i += 1 }
        var fraction = 0
        if at(i) == "." {
            i += 1
            while Self.isDigit(at(i)) {
                i += 1
                fraction += 1
            }
        }
        var exponent = false
        if let e = at(i), e == "e" || e == "E" {
            var k = i + 1
            if let s = at(k), s == "+" || s == "-" { k += 1 }
            if Self.isDigit(at(k)) {
                exponent = true
                i = k
                while Self.isDigit(at(i)) { i += 1 }
            }
        }
        let text = String(String.UnicodeScalarView(chars[start..<i]))
        let isPoint = text.contains(".")
        if exponent || (isPoint && fraction > 18) {
            guard let v = Double(text) else { throw ExpressionError("invalid number `\(text)`", at: start) }
            return Token(kind: .double(v), offset: start)
        }
        if isPoint {
            let digits = text.filter { $0 != "." }
            guard let v = Int64(digits.isEmpty ? "0" : digits) else {
                throw ExpressionError(
                    "decimal literal `\(text)` out of range",
                    at: start,
                    help: "write it with an exponent (e.g. 1.5e20) for a double"
                )
            }
            return Token(kind: .decimal(v, scale: fraction), offset: start)
        }
        // 2^63 only exists negated; the parser folds `-9223372036854775808` and rejects it alone.
        if text == "9223372036854775808" { return Token(kind: .integer(.min), offset: start) }
        guard let v = Int64(text) else {
            throw ExpressionError(
                "integer literal `\(text)` out of range",
                at: start,
                help: "write it with an exponent (e.g. 1e20) for a double"
            )
        }
        return Token(kind: .integer(v), offset: start)
    }
}

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

/// The name in `candidates` closest to `name` within an edit distance of 2, if any.
func nearest(_ name: String, in candidates: [String]) -> String? {
    let lower = name.lowercased()
    return candidates.map { ($0, editDistance(lower, $0.lowercased())) }
        .filter { $0.1 <= 2 }
        .min { $0.1 < $1.1 }?.0
}

/// Levenshtein distance.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars)
    let y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    var previous = Array(0...y.count)
    var row = previous
    for i in 1...x.count {
        row[0] = i
        for j in 1...max(y.count, 1) where j <= y.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&previous, &row)
    }
    return previous[y.count]
}
