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
