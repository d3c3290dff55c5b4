/// A parsed and type-checked expression as a plain tree, for tools that translate the expression language
/// into another one (the Flink SQL export). Every node carries the type the compiler gave it, so a
/// translation sees exactly what `run` would compute.
public struct ExpressionTree: Sendable {
    /// What a node is; children are trees themselves.
    public indirect enum Kind: Sendable {
        case literal(Value)
        case field(String)
        /// `not` or `-`.
        case unary(String, ExpressionTree)
        /// `and or + - * / % = != < <= > >=` (`==` is `=`, `<>` is `!=`).
        case binary(String, ExpressionTree, ExpressionTree)
        case isNull(ExpressionTree, negated: Bool)
        case inList(ExpressionTree, [ExpressionTree], negated: Bool)
        /// A built-in function by its lower-case name.
        case call(String, [ExpressionTree])
        case cast(ExpressionTree, FieldType)
    }

    public var kind: Kind
    /// nil for an untyped `null` literal.
    public var type: FieldType?
    /// 0-based character offset into the expression text, for messages.
    public var offset: Int

    /// Parses and type-checks `text` against `schema`; throws the same errors as `Expressions.compile`.
    public static func parse(_ text: String, schema: Schema) throws(ExpressionError) -> ExpressionTree {
        let tree = try Parser.parse(text)
        let compiler = ExpressionCompiler(schema: schema)
        _ = try compiler.compile(tree)
        return try build(tree, compiler)
    }

    // Expressions are a few nodes long, so typing each subtree by compiling it again costs nothing that shows.
    private static func build(_ e: Expr, _ c: ExpressionCompiler) throws(ExpressionError) -> ExpressionTree {
        let type = try c.compile(e).type
        func sub(_ x: Expr) throws(ExpressionError) -> ExpressionTree { try build(x, c) }
        let kind: Kind
        switch e {
        case .literal(let v, _): kind = .literal(v)
        case .field(let name, _): kind = .field(name)
        case .unary(let op, let x, _): kind = .unary(op, try sub(x))
        case .binary(let op, let x, let y, _): kind = .binary(op, try sub(x), try sub(y))
        case .isNull(let x, let negated, _): kind = .isNull(try sub(x), negated: negated)
        case .inList(let x, let items, let negated, _):
            var list: [ExpressionTree] = []
            for item in items { list.append(try sub(item)) }
            kind = .inList(try sub(x), list, negated: negated)
        case .call(let name, let args, _):
            var list: [ExpressionTree] = []
            for a in args { list.append(try sub(a)) }
            kind = .call(name, list)
        case .cast(let x, let t, _): kind = .cast(try sub(x), t)
        }
        return ExpressionTree(kind: kind, type: type, offset: e.offset)
    }
}
