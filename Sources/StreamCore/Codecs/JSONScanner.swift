/// A read position in one JSON record. Every method works on raw bytes; nothing allocates except
/// `describeValue`, which runs only when building an error message.
struct JSONCursor {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i: Int = 0

    init(_ p: UnsafePointer<UInt8>, _ n: Int) {
        self.p = p
        self.n = n
    }

    @inline(__always)
    var atEnd: Bool { i >= n }

    @inline(__always)
    var peek: UInt8 { i < n ? p[i] : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 32 || c == 10 || c == 13 || c == 9 else { return }
            i += 1
        }
    }

    /// Consumes `byte` after optional whitespace, or throws naming what was expected.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: String) throws(DecodeError) {
        skipWhitespace()
        guard i < n, p[i] == byte else { throw unexpected(expected: what) }
        i += 1
    }

    func unexpected(expected what: String) -> DecodeError {
        guard i < n else { return DecodeError("truncated record: expected \(what)", at: i) }
        return DecodeError("malformed JSON: expected \(what), found \(Self.show(p[i]))", at: i)
    }

    static func show(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "`\(Character(Unicode.Scalar(c)))`" }
        return "byte 0x" + String(c, radix: 16)
    }

    /// Consumes the literal `word` (the first byte already matched at `i`).
    @inline(__always)
    mutating func literal(_ word: StaticString) throws(DecodeError) {
        let len = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard i + len <= n else { throw DecodeError("truncated record in literal `\(word)`", at: i) }
        for k in 0..<len where p[i + k] != w[k] {
            throw DecodeError("malformed JSON: invalid literal, expected `\(word)`", at: i)
        }
        i += len
    }

    /// Scans a JSON number starting at `i` (strict grammar). Returns its byte range and whether it
    /// has a fraction or exponent.
    @inline(__always)
    mutating func scanNumber() throws(DecodeError) -> (start: Int, end: Int, integral: Bool) {
        let start = i
        if i < n, p[i] == 45 { i += 1 }
        guard i < n, p[i] &- 48 < 10 else { throw numberError(start) }
        if p[i] == 48 {
            i += 1
        } else {
            while i < n, p[i] &- 48 < 10 { i += 1 }
        }
        var integral = true
        if i < n, p[i] == 46 {
            integral = false
            i += 1
            guard i < n, p[i] &- 48 < 10 else { throw numberError(start) }
            while i < n, p[i] &- 48 < 10 { i += 1 }
        }
        if i < n, p[i] | 0x20 == 101 {
            integral = false
            i += 1
            if i < n, p[i] == 45 || p[i] == 43 { i += 1 }
            guard i < n, p[i] &- 48 < 10 else { throw numberError(start) }
            while i < n, p[i] &- 48 < 10 { i += 1 }
        }
        return (start, i, integral)
    }

    private func numberError(_ start: Int) -> DecodeError {
        i >= n
            ? DecodeError("truncated record in number", at: start)
            : DecodeError("malformed JSON: invalid number", at: start)
    }

    /// Scans a string whose opening quote is at `i`, leaving `i` after the closing quote.
    /// Returns the content range and whether it holds escapes. Validates escapes, control
    /// characters and UTF-8.
    @inline(__always)
    mutating func scanString() throws(DecodeError) -> (start: Int, end: Int, escaped: Bool) {
        i += 1
        let start = i
        var escaped = false
        while i < n {
            let c = p[i]
            if c == 34 {
                i += 1
                return (start, i - 1, escaped)
            }
            if c == 92 {
                escaped = true
                i = try escapeEnd(at: i)
            } else if c < 0x20 {
                throw DecodeError("malformed JSON: unescaped control character in string", at: i)
            } else if c >= 0x80 {
                i = try utf8End(at: i)
            } else {
                i += 1
            }
        }
        throw DecodeError("truncated record in string", at: start - 1)
    }

    /// The index after the escape sequence starting with the backslash at `k`.
    private func escapeEnd(at k: Int) throws(DecodeError) -> Int {
        guard k + 1 < n else { throw DecodeError("truncated record in string escape", at: k) }
        switch p[k + 1] {
        case 34, 92, 47, 98, 102, 110, 114, 116: return k + 2
        case 117:
            let (_, next) = try unicodeEscape(at: k)
            return next
        default:
            throw DecodeError("malformed JSON: invalid escape `\\\(Self.showRaw(p[k + 1]))` in string", at: k)
        }
    }

    static func showRaw(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(Character(Unicode.Scalar(c))) : "0x" + String(c, radix: 16)
    }

    private func hex4(at k: Int) throws(DecodeError) -> UInt32 {
        guard k + 4 <= n else { throw DecodeError("truncated record in \\u escape", at: k - 2) }
        var v: UInt32 = 0
        for j in k..<k + 4 {
            let c = p[j]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: throw DecodeError("malformed JSON: invalid hex digit in \\u escape", at: k - 2)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Decodes `\uXXXX` (and a following low surrogate) at `k`: the scalar and the index after it.
    func unicodeEscape(at k: Int) throws(DecodeError) -> (UInt32, Int) {
        let hi = try hex4(at: k + 2)
        if hi >= 0xDC00 && hi <= 0xDFFF {
            throw DecodeError("malformed JSON: unpaired low surrogate \\u\(String(hi, radix: 16))", at: k)
        }
        guard hi >= 0xD800 && hi <= 0xDBFF else { return (hi, k + 6) }
        guard k + 7 < n, p[k + 6] == 92, p[k + 7] == 117 else {
            throw DecodeError("malformed JSON: unpaired high surrogate \\u\(String(hi, radix: 16))", at: k)
        }
        let lo = try hex4(at: k + 8)
        guard lo >= 0xDC00 && lo <= 0xDFFF else {
            throw DecodeError("malformed JSON: unpaired high surrogate \\u\(String(hi, radix: 16))", at: k)
        }
        return (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), k + 12)
    }

    /// The index after the UTF-8 sequence whose lead byte is at `k`; rejects malformed sequences.
    private func utf8End(at k: Int) throws(DecodeError) -> Int {
        let c = p[k]
        let len: Int
        let minScalar: UInt32
        var scalar: UInt32
        switch c {
        case 0xC2...0xDF:
            len = 2
            scalar = UInt32(c & 0x1F)
            minScalar = 0x80
        case 0xE0...0xEF:
            len = 3
            scalar = UInt32(c & 0x0F)
            minScalar = 0x800
        case 0xF0...0xF4:
            len = 4
            scalar = UInt32(c & 0x07)
            minScalar = 0x10000
        default: throw DecodeError("invalid UTF-8 in string", at: k)
        }
        guard k + len <= n else { throw DecodeError("invalid UTF-8 in string", at: k) }
        for j in k + 1..<k + len {
            guard p[j] & 0xC0 == 0x80 else { throw DecodeError("invalid UTF-8 in string", at: k) }
            scalar = scalar << 6 | UInt32(p[j] & 0x3F)
        }
        if scalar < minScalar || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) {
            throw DecodeError("invalid UTF-8 in string", at: k)
        }
        return k + len
    }

    /// Appends the unescaped content of a scanned string (`start..<end`, escapes valid) to `out`.
    static func unescape(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ end: Int, into out: inout [UInt8]) {
        var k = start
        var run = start
        let cursor = JSONCursor(p, n)
        while k < end {
            guard p[k] == 92 else {
                k += 1
                continue
            }
            if k > run { out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: k - run)) }
            let e = p[k + 1]
            switch e {
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                // Validated by scanString already.
                let (scalar, next) = (try? cursor.unicodeEscape(at: k)) ?? (0xFFFD, k + 6)
                appendUTF8(scalar, to: &out)
                k = next
                run = k
                continue
            default: out.append(e)
            }
            k += 2
            run = k
        }
        if end > run { out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: end - run)) }
    }

    @inline(__always)
    static func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        switch s {
        case 0..<0x80: out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | s >> 6))
            out.append(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | s >> 12))
            out.append(UInt8(0x80 | (s >> 6) & 0x3F))
            out.append(UInt8(0x80 | s & 0x3F))
        default:
            out.append(UInt8(0xF0 | s >> 18))
            out.append(UInt8(0x80 | (s >> 12) & 0x3F))
            out.append(UInt8(0x80 | (s >> 6) & 0x3F))
            out.append(UInt8(0x80 | s & 0x3F))
        }
    }

    /// Skips any JSON value at `i` (after whitespace), validating it.
    mutating func skipValue(depth: Int = 0) throws(DecodeError) {
        skipWhitespace()
        guard depth < 256 else { throw DecodeError("JSON nested deeper than 256 levels", at: i) }
        switch peek {
        case 34: _ = try scanString()
        case 116: try literal("true")
        case 102: try literal("false")
        case 110: try literal("null")
        case 45, 48...57: _ = try scanNumber()
        case 123:
            i += 1
            skipWhitespace()
            if peek == 125 {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek == 34 else { throw unexpected(expected: "a key string") }
                _ = try scanString()
                try expect(58, "`:`")
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == 44 {
                    i += 1
                    continue
                }
                try expect(125, "`,` or `}`")
                return
            }
        case 91:
            i += 1
            skipWhitespace()
            if peek == 93 {
                i += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == 44 {
                    i += 1
                    continue
                }
                try expect(93, "`,` or `]`")
                return
            }
        default:
            throw unexpected(expected: "a value")
        }
    }

    /// A short description of the value at `i` for error messages: `string "abc"`, `number 1.5`, `object`.
    func describeValue() -> String {
        var c = self
        let start = c.i
        switch c.peek {
        case 34:
            guard let (s, e, _) = try? c.scanString() else { return "a malformed string" }
            return "string \"\(ScalarText.preview(p + s, e - s))\""
        case 45, 48...57:
            guard let (s, e, _) = try? c.scanNumber() else { return "a malformed number" }
            return "number \(ScalarText.preview(p + s, e - s))"
        case 116, 102: return "bool \(c.peek == 116)"
        case 110: return "null"
        case 123: return "object"
        case 91: return "array"
        default:
            return start < n ? Self.show(p[start]) : "end of record"
        }
    }
}
