/// A problem in an expression: what, where (0-based character offset into the expression text), and a fix.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var help: String?
    public init(_ message: String, at offset: Int, help: String? = nil) {
        self.message = message
        self.offset = offset
        self.help = help
    }
    public var description: String { message }
}

/// An expression compiled once into a closure that evaluates a whole batch at a time.
public struct CompiledExpression: Sendable {
    public let resultType: FieldType
    let body: @Sendable (Batch) throws(StreamError) -> Column

    public init(resultType: FieldType, body: @escaping @Sendable (Batch) throws(StreamError) -> Column) {
        self.resultType = resultType
        self.body = body
    }

    /// One value per row of `batch`.
    public func evaluate(_ batch: Batch) throws(StreamError) -> Column { try body(batch) }

    /// For boolean expressions: which rows are true (null counts as false).
    public func mask(_ batch: Batch) throws(StreamError) -> [Bool] {
        let c = try evaluate(batch)
        guard let validity = c.validity else { return c.bools }
        return zip(c.bools, validity).map { $0 && $1 }
    }
}

/// Entry points of the expression language used by `filter` and `map`.
///
/// Grammar (keywords case-insensitive): literals (`12`, `12.50` decimal, `1e3` double, `'text'` with `''`
/// escaping, `true`, `false`, `null`, `timestamp '2026-11-27T00:00:00Z'`), field names (`amount`,
/// `` `odd name` ``), `+ - * / %`, unary `-`, `= == != <> < <= > >=`, `and`, `or`, `not`, `x [not] in (…)`,
/// `is [not] null`, parentheses, and the functions lower, upper, concat, substring, length, date_trunc,
/// format, extract, cast, abs, round, coalesce.
///
/// Semantics follow SQL: nulls propagate, `and`/`or` are three-valued, comparisons with null are null.
/// Integer or decimal overflow and division (or `%`) by zero give null rather than trapping.
public enum Expressions {
    /// Parses and type-checks `text` against `schema`, returning the result type.
    public static func typeCheck(_ text: String, schema: Schema) throws(ExpressionError) -> FieldType {
        try compile(text, schema: schema).resultType
    }

    /// Parses, type-checks and compiles `text` against `schema`.
    public static func compile(_ text: String, schema: Schema) throws(ExpressionError) -> CompiledExpression {
        let tree = try Parser.parse(text)
        let node = try ExpressionCompiler(schema: schema).compile(tree)
        let type = node.type ?? .string
        let eval = node.eval
        return CompiledExpression(resultType: type) { batch throws(StreamError) in eval(batch) }
    }
}
