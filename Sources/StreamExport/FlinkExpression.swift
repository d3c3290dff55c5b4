import StreamCore

/// Why an expression has no exact Flink SQL form, and which character of it to blame.
struct UntranslatableExpression: Error {
    var message: String
    var offset: Int
    var help: String?
}

/// Translates a type-checked expression into Flink SQL, function by function, keeping streamctl's
/// semantics: division by zero is null (`NULLIF`), a cast that does not convert is null (`TRY_CAST`),
/// timestamp parts are taken in UTC (the script sets the session time zone).
enum FlinkExpression {
    static func sql(_ t: ExpressionTree) throws(UntranslatableExpression) -> String {
        switch t.kind {
        case .literal(let v): return literal(v, type: t.type)
        case .field(let name): return FlinkSQL.name(name)
        case .unary(let op, let x):
            let inner = try sql(x)
            return op == "not" ? "(NOT \(inner))" : "(-\(inner))"
        case .binary(let op, let x, let y): return try binary(op, x, y, t)
        case .isNull(let x, let negated): return "(\(try sql(x)) IS \(negated ? "NOT " : "")NULL)"
        case .inList(let x, let items, let negated):
            var list: [String] = []
            for item in items { list.append(try sql(item)) }
            return "(\(try sql(x)) \(negated ? "NOT " : "")IN (\(list.joined(separator: ", "))))"
        case .call(let name, let args): return try call(name, args, t)
        case .cast(let x, let type):
            if x.type == .timestamp || type == .timestamp {
                throw UntranslatableExpression(
                    message: "cast between \(x.type?.description ?? "null") and \(type) has no exact Flink form "
                        + "(streamctl reads and writes timestamps as RFC 3339 or epoch milliseconds)",
                    offset: t.offset, help: "keep the field a timestamp, or format it with format(ts, '%Y-%m-%d')")
            }
            return "TRY_CAST(\(try sql(x)) AS \(FlinkSQL.type(type)))"
        }
    }

    static func literal(_ v: Value, type: FieldType?) -> String {
        switch v {
        case .null: return type.map { "CAST(NULL AS \(FlinkSQL.type($0)))" } ?? "NULL"
        case .int64(let i): return String(i)
        case .double(let d): return d.isFinite ? "CAST(\(d) AS DOUBLE)" : "CAST('\(d)' AS DOUBLE)"
        case .bool(let b): return b ? "TRUE" : "FALSE"
        case .string(let s): return FlinkSQL.quote(s)
        case .timestamp(let ms): return "TO_TIMESTAMP_LTZ(\(ms), 3)"
        case .decimal(let unscaled, let scale):
            return "CAST(\(Value.decimal(unscaled, scale: scale)) AS DECIMAL(18, \(scale)))"
        }
    }

    static func binary(_ op: String, _ x: ExpressionTree, _ y: ExpressionTree, _ t: ExpressionTree)
        throws(UntranslatableExpression) -> String
    {
        if x.type == .timestamp || y.type == .timestamp, ["+", "-"].contains(op) {
            throw UntranslatableExpression(
                message: "timestamp arithmetic in milliseconds has no exact Flink SQL form", offset: t.offset,
                help: "compare timestamps directly, or use date_trunc()")
        }
        var a = try sql(x)
        var b = try sql(y)
        switch op {
        case "and": return "(\(a) AND \(b))"
        case "or": return "(\(a) OR \(b))"
        case "=", "<", "<=", ">", ">=": return "(\(a) \(op) \(b))"
        case "!=": return "(\(a) <> \(b))"
        case "/", "%":
            // streamctl divides in double unless both sides are int64, and gives null for a zero divisor.
            if t.type == .double {
                if x.type != .double { a = "CAST(\(a) AS DOUBLE)" }
                if y.type != .double { b = "CAST(\(b) AS DOUBLE)" }
            }
            return op == "/" ? "(\(a) / NULLIF(\(b), 0))" : "MOD(\(a), NULLIF(\(b), 0))"
        default:
            // `+ - *`: Flink widens decimals past 18 digits; cast back to what streamctl computes.
            if case .decimal = t.type { return "CAST((\(a) \(op) \(b)) AS \(FlinkSQL.type(t.type!)))" }
            return "(\(a) \(op) \(b))"
        }
    }

    static func unit(_ arg: ExpressionTree) -> String {
        if case .literal(.string(let s)) = arg.kind { return s.lowercased() }
        return ""
    }

    static func call(_ name: String, _ args: [ExpressionTree], _ t: ExpressionTree) throws(UntranslatableExpression)
        -> String
    {
        var sqlArgs: [String] = []
        for a in args { sqlArgs.append(try sql(a)) }
        switch name {
        case "lower", "upper", "abs", "coalesce": return "\(name.uppercased())(\(sqlArgs.joined(separator: ", ")))"
        case "length": return "CHAR_LENGTH(\(sqlArgs[0]))"
        case "concat":
            // streamctl turns every argument into its text; Flink's CONCAT takes strings.
            var parts: [String] = []
            for (a, s) in zip(args, sqlArgs) {
                switch a.type {
                case .string?, nil: parts.append(s)
                case .timestamp?: parts.append(FlinkSQL.dateFormat(s, javaPattern: FlinkSQL.rfc3339Pattern))
                case .double?:
                    throw UntranslatableExpression(
                        message: "concat() of a double: Flink writes doubles as text differently", offset: a.offset,
                        help: "round it to a decimal first: cast(round(x, 2) as decimal(2))")
                default: parts.append("CAST(\(s) AS STRING)")
                }
            }
            return "CONCAT(\(parts.joined(separator: ", ")))"
        case "substring":
            return sqlArgs.count == 3
                ? "SUBSTRING(\(sqlArgs[0]) FROM \(sqlArgs[1]) FOR \(sqlArgs[2]))"
                : "SUBSTRING(\(sqlArgs[0]) FROM \(sqlArgs[1]))"
        case "date_trunc":
            let u = unit(args[0]).uppercased()
            // FLOOR of an instant works on the session's wall clock: UTC, as in streamctl.
            return "CAST(FLOOR(CAST(\(sqlArgs[1]) AS TIMESTAMP(3)) TO \(u)) AS TIMESTAMP_LTZ(3))"
        case "extract":
            let u = unit(args[0])
            let wall = "CAST(\(sqlArgs[1]) AS TIMESTAMP(3))"
            // streamctl counts days of the week from Sunday = 0; Flink's DAYOFWEEK from Sunday = 1.
            if u == "dow" { return "(DAYOFWEEK(\(wall)) - 1)" }
            return "EXTRACT(\(u.uppercased()) FROM \(wall))"
        case "format":
            guard case .literal(.string(let pattern)) = args[1].kind, let java = FlinkSQL.javaPattern(pattern) else {
                throw UntranslatableExpression(
                    message: "format() pattern has a directive the export does not map", offset: args[1].offset,
                    help: "use %Y %m %d %H %M %S")
            }
            return FlinkSQL.dateFormat(sqlArgs[0], javaPattern: java)
        case "round":
            // Flink's ROUND is half away from zero, as streamctl's.
            let digits = sqlArgs.count == 2 ? sqlArgs[1] : "0"
            return "ROUND(\(sqlArgs[0]), \(digits))"
        default:
            throw UntranslatableExpression(
                message: "function `\(name)` has no Flink SQL translation", offset: t.offset, help: nil)
        }
    }
}
