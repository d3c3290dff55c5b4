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
public enum Expressions {
    /// Parses and type-checks `text` against `schema`, returning the result type.
    public static func typeCheck(_ text: String, schema: Schema) throws(ExpressionError) -> FieldType {
        try compile(text, schema: schema).resultType
    }

    /// Parses, type-checks and compiles `text` against `schema`.
    public static func compile(_ text: String, schema: Schema) throws(ExpressionError) -> CompiledExpression {
        let name = text.trimmingCharacters(in: " ")
        guard let index = schema.index(of: name) else {
            throw ExpressionError("unknown field `\(name)`", at: 0)
        }
        let type = schema[index].type
        return CompiledExpression(resultType: type) { batch throws(StreamError) in batch.columns[index] }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
