import Testing

@testable import StreamCore

@Suite struct ExpressionTests {
    let schema = Schema([
        Field("id", .int64), Field("amount", .decimal(scale: 2)), Field("price", .double), Field("shop", .string),
        Field("ts", .timestamp), Field("ok", .bool), Field("note", .string, nullable: true),
        Field("qty", .int64, nullable: true), Field("odd name", .int64),
    ])

    var batch: Batch {
        var b = Batch(schema: schema)
        let rows: [[Value]] = [
            [
                .int64(1), .decimal(1250, scale: 2), .double(2.5), .string("North"), .timestamp(1_795_774_530_123),
                .bool(true), .string("hi"), .int64(3), .int64(10),
            ],
            [
                .int64(2), .decimal(-5, scale: 2), .double(-1), .string("zürich"), .timestamp(0),
                .bool(false), .null, .null, .int64(20),
            ],
            [
                .int64(3), .decimal(0, scale: 2), .double(0), .string(""), .timestamp(-1),
                .bool(true), .string("Ünï"), .int64(0), .int64(30),
            ],
        ]
        for row in rows {
            for (i, v) in row.enumerated() { b.columns[i].append(v) }
            b.commitRow()
        }
        return b
    }

    func eval(_ text: String) throws -> [Value] {
        let e = try Expressions.compile(text, schema: schema)
        let c = try e.evaluate(batch)
        #expect(c.type == e.resultType)
        #expect(c.count == 3)
        return (0..<c.count).map { Kernels.value(c, $0) }
    }

    func type(_ text: String) throws -> FieldType { try Expressions.typeCheck(text, schema: schema) }

    func error(_ text: String) -> ExpressionError? {
        do throws(ExpressionError) {
            _ = try Expressions.compile(text, schema: schema)
            return nil
        } catch {
            return error
        }
    }

    @Test func arithmeticPrecedenceAndAssociativity() throws {
        #expect(try eval("1 + 2 * 3") == Array(repeating: .int64(7), count: 3))
        #expect(try eval("(1 + 2) * 3")[0] == .int64(9))
        #expect(try eval("10 - 2 - 3")[0] == .int64(5))
        #expect(try eval("-id + 10") == [.int64(9), .int64(8), .int64(7)])
        #expect(try eval("id * 7 % 4") == [.int64(3), .int64(2), .int64(1)])
        #expect(try eval("7 / id") == [.int64(7), .int64(3), .int64(2)])
        #expect(try eval("- -id")[0] == .int64(1))
        #expect(try eval("`odd name` / 10") == [.int64(1), .int64(2), .int64(3)])
    }

    @Test func numericPromotion() throws {
        #expect(try type("amount + 1") == .decimal(scale: 2))
        #expect(try eval("amount + 1") == [.decimal(1350, scale: 2), .decimal(95, scale: 2), .decimal(100, scale: 2)])
        #expect(try type("amount * amount") == .decimal(scale: 4))
        #expect(try eval("amount * 2.5")[0] == .decimal(31250, scale: 3))
        #expect(try type("amount / 2") == .double)
        #expect(try eval("amount / 2")[0] == .double(6.25))
        #expect(try eval("amount + price")[0] == .double(15))
        #expect(try eval("12.50 + 0.5")[0] == .decimal(1300, scale: 2))
        #expect(try eval("1e3 + id")[0] == .double(1001))
        #expect(try eval("amount - 0.125")[0] == .decimal(12375, scale: 3))
        #expect(try eval("price % 2")[0] == .double(0.5))
    }

    @Test func divisionByZeroAndOverflowAreNull() throws {
        #expect(try eval("id / qty") == [.int64(0), .null, .null])
        #expect(try eval("id % qty") == [.int64(1), .null, .null])
        #expect(try eval("price / price") == [.double(1), .double(1), .null])
        #expect(try eval("9223372036854775807 + id") == [.null, .null, .null])
        #expect(try eval("-9223372036854775808 - id")[0] == .null)
        #expect(try eval("-(-9223372036854775808 + id - 1)")[0] == .null)
        #expect(try eval("abs(-9223372036854775808 + 0 * id)")[0] == .null)
        #expect(try eval("4611686018427387904 * 2")[0] == .null)
    }

    @Test func timestampArithmetic() throws {
        #expect(try type("ts - ts") == .int64)
        #expect(try eval("ts - timestamp '1970-01-01T00:00:01Z'")[1] == .int64(-1000))
        #expect(try eval("ts + 1000")[1] == .timestamp(1000))
        #expect(try eval("1000 + ts")[1] == .timestamp(1000))
        #expect(try eval("ts - 1")[1] == .timestamp(-1))
    }

    @Test func comparisons() throws {
        #expect(try eval("id = 2") == [.bool(false), .bool(true), .bool(false)])
        #expect(try eval("id == 2") == [.bool(false), .bool(true), .bool(false)])
        #expect(try eval("id != 2") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("id <> 2") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("id < 2") == [.bool(true), .bool(false), .bool(false)])
        #expect(try eval("id <= 2") == [.bool(true), .bool(true), .bool(false)])
        #expect(try eval("id > 2") == [.bool(false), .bool(false), .bool(true)])
        #expect(try eval("id >= 2") == [.bool(false), .bool(true), .bool(true)])
        #expect(try eval("amount > 12.4") == [.bool(true), .bool(false), .bool(false)])
        #expect(try eval("amount = 12.5000") == [.bool(true), .bool(false), .bool(false)])
        #expect(try eval("price < amount") == [.bool(true), .bool(true), .bool(false)])
        #expect(try eval("shop < 'a'") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("shop = 'North'") == [.bool(true), .bool(false), .bool(false)])
        #expect(try eval("ts >= '1970-01-01T00:00:00Z'") == [.bool(true), .bool(true), .bool(false)])
        #expect(try eval("ok = true") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("qty > 1") == [.bool(true), .null, .bool(false)])
        #expect(try eval("id = null") == [.null, .null, .null])
    }

    @Test func threeValuedLogic() throws {
        #expect(try eval("qty > 1 and false") == [.bool(false), .bool(false), .bool(false)])
        #expect(try eval("qty > 1 and true") == [.bool(true), .null, .bool(false)])
        #expect(try eval("qty > 1 or true") == [.bool(true), .bool(true), .bool(true)])
        #expect(try eval("qty > 1 or false") == [.bool(true), .null, .bool(false)])
        #expect(try eval("not (qty > 1)") == [.bool(false), .null, .bool(true)])
        #expect(try eval("not ok or id = 3") == [.bool(false), .bool(true), .bool(true)])
        #expect(try eval("id = 1 or id = 2 and ok") == [.bool(true), .bool(false), .bool(false)])
    }

    @Test func inListAndNullTests() throws {
        #expect(try eval("id in (1, 3)") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("id not in (1, 3)") == [.bool(false), .bool(true), .bool(false)])
        #expect(try eval("shop IN ('North', 'x')") == [.bool(true), .bool(false), .bool(false)])
        #expect(try eval("qty in (3, null)") == [.bool(true), .null, .null])
        #expect(try eval("note is null") == [.bool(false), .bool(true), .bool(false)])
        #expect(try eval("note IS NOT NULL") == [.bool(true), .bool(false), .bool(true)])
        #expect(try eval("id is null") == [.bool(false), .bool(false), .bool(false)])
    }

    @Test func stringFunctions() throws {
        #expect(try eval("lower(shop)") == [.string("north"), .string("zürich"), .string("")])
        #expect(try eval("UPPER(shop)") == [.string("NORTH"), .string("ZÜRICH"), .string("")])
        #expect(try eval("length(shop)") == [.int64(5), .int64(6), .int64(0)])
        #expect(try eval("concat(shop, '-', id, '-', amount)")[0] == .string("North-1-12.50"))
        #expect(try eval("concat(shop, note)") == [.string("Northhi"), .null, .string("Ünï")])
        #expect(try eval("substring(shop, 2, 3)") == [.string("ort"), .string("üri"), .string("")])
        #expect(try eval("substring(shop, 4)") == [.string("th"), .string("ich"), .string("")])
        #expect(try eval("substring(shop, 0, 2)")[0] == .string("N"))
        #expect(try eval("substring(shop, 1, -1)")[0] == .null)
        #expect(try eval("'it''s'")[0] == .string("it's"))
    }

    @Test func timeFunctions() throws {
        // ts[0] = 2026-11-27T10:15:30.123Z
        #expect(try eval("format(ts, '%Y-%m-%d %H:%M:%S %j %%')")[0] == .string("2026-11-27 10:15:30 331 %"))
        #expect(try eval("format(ts, '%Y-%m-%d %H:%M')")[2] == .string("1969-12-31 23:59"))
        #expect(try eval("date_trunc('hour', ts)")[0] == .timestamp(1_795_773_600_000))
        #expect(
            try eval("date_trunc('day', ts)") == [
                .timestamp(1_795_737_600_000), .timestamp(0), .timestamp(-86_400_000),
            ]
        )
        #expect(try eval("date_trunc('minute', ts)")[0] == .timestamp(1_795_774_500_000))
        #expect(try eval("date_trunc('second', ts)")[0] == .timestamp(1_795_774_530_000))
        #expect(
            try eval("date_trunc('month', ts)")[0]
                == .timestamp(try #require(CivilTime.parseRFC3339("2026-11-01T00:00:00Z")))
        )
        #expect(
            try eval("date_trunc('YEAR', ts)")[2]
                == .timestamp(try #require(CivilTime.parseRFC3339("1969-01-01T00:00:00Z")))
        )
        #expect(try eval("extract('year', ts)") == [.int64(2026), .int64(1970), .int64(1969)])
        #expect(try eval("extract('month', ts)")[0] == .int64(11))
        #expect(try eval("extract('day', ts)")[0] == .int64(27))
        #expect(try eval("extract('hour', ts)")[0] == .int64(10))
        #expect(try eval("extract('minute', ts)")[0] == .int64(15))
        #expect(try eval("extract('second', ts)")[0] == .int64(30))
        #expect(try eval("extract('dow', ts)") == [.int64(5), .int64(4), .int64(3)])
    }

    @Test func castsAbsRoundCoalesce() throws {
        #expect(try eval("cast(amount as int64)") == [.int64(12), .int64(0), .int64(0)])
        #expect(try eval("cast(amount as double)")[0] == .double(12.5))
        #expect(
            try eval("cast(amount as decimal(1))") == [
                .decimal(125, scale: 1), .decimal(0, scale: 1), .decimal(0, scale: 1),
            ]
        )
        #expect(try eval("cast(amount as string)")[1] == .string("-0.05"))
        #expect(try eval("cast(price as int64)") == [.int64(2), .int64(-1), .int64(0)])
        #expect(try eval("cast(price as decimal)")[0] == .decimal(250, scale: 2))
        #expect(try eval("cast(id as string)")[0] == .string("1"))
        #expect(try eval("cast(ts as string)")[0] == .string("2026-11-27T10:15:30.123Z"))
        #expect(try eval("cast('42' as int64)")[0] == .int64(42))
        #expect(try eval("cast(shop as int64)")[0] == .null)
        #expect(try eval("cast('2026-11-27T10:15:30Z' as timestamp)")[0] == .timestamp(1_795_774_530_000))
        #expect(try eval("cast(ok as int64)") == [.int64(1), .int64(0), .int64(1)])
        #expect(try eval("cast(id - 1 as bool)") == [.bool(false), .bool(true), .bool(true)])
        #expect(try eval("abs(amount)")[1] == .decimal(5, scale: 2))
        #expect(try eval("abs(price)")[1] == .double(1))
        #expect(try eval("round(price)") == [.double(3), .double(-1), .double(0)])
        #expect(try eval("round(2.345, 2)")[0] == .decimal(235, scale: 2))
        #expect(try eval("round(amount, 0)") == [.decimal(13, scale: 0), .decimal(0, scale: 0), .decimal(0, scale: 0)])
        #expect(try eval("round(1234, -2)")[0] == .int64(1200))
        #expect(try eval("round(1.23456e0, 3)")[0] == .double(1.235))
        #expect(try eval("coalesce(qty, id)") == [.int64(3), .int64(2), .int64(0)])
        #expect(try eval("coalesce(note, 'none')") == [.string("hi"), .string("none"), .string("Ünï")])
        #expect(try eval("coalesce(qty, amount)")[1] == .decimal(-5, scale: 2))
    }

    @Test func constantsFoldAndBroadcast() throws {
        #expect(try eval("concat('a', 'b')") == Array(repeating: .string("ab"), count: 3))
        #expect(try eval("null") == [.null, .null, .null])
        #expect(try eval("1 + null") == [.null, .null, .null])
        #expect(try eval("TRUE AND NOT FALSE") == Array(repeating: .bool(true), count: 3))
    }

    @Test func maskTreatsNullAsFalse() throws {
        let e = try Expressions.compile("qty >= 0 and ok", schema: schema)
        #expect(try e.mask(batch) == [true, false, true])
        #expect(batch.selecting(try e.mask(batch)).column("id")?.int64s == [1, 3])
    }

    @Test func errorsPointAtTheOffendingTokenWithHelp() {
        #expect(error("amout > 1") == ExpressionError("unknown field `amout`", at: 0, help: "did you mean `amount`?"))
        #expect(error("id > 1 && ok") == ExpressionError("unexpected `&&`", at: 7, help: "use `and`"))
        #expect(error("lowr(shop)") == ExpressionError("unknown function `lowr`", at: 0, help: "did you mean `lower`?"))
        #expect(error("id + shop")?.offset == 3)
        #expect(error("shop + 'x'")?.help == "use concat(a, b) to join strings")
        #expect(error("shop + 'x'")?.message == "cannot apply `+` to string and string")
        #expect(
            error("not id")
                == ExpressionError(
                    "`not` needs a bool, found int64",
                    at: 4,
                    help: "compare it, e.g. `x = 1` or `x is not null`"
                )
        )
        #expect(error("ok and id")?.offset == 7)
        #expect(
            error("id = 'x'")
                == ExpressionError(
                    "cannot compare int64 with string",
                    at: 3,
                    help: "convert with cast(x as ...)"
                )
        )
        #expect(
            error("date_trunc('hours', ts)")
                == ExpressionError(
                    "unknown unit 'hours' for date_trunc()",
                    at: 11,
                    help: "did you mean 'hour'?"
                )
        )
        #expect(error("format(ts, '%Y %q')")?.message == "unknown format code `%q`")
        #expect(
            error("lower(id)")
                == ExpressionError(
                    "lower() needs a string, found int64",
                    at: 6,
                    help: "convert with cast(x as string)"
                )
        )
        #expect(error("lower(shop, 1)")?.message == "lower() takes 1 argument, found 2")
        #expect(
            error("cast(id as int46)") == ExpressionError("unknown type `int46`", at: 11, help: "did you mean `int64`?")
        )
        #expect(error("ts > 'yesterday'")?.offset == 5)
        #expect(error("id >") == ExpressionError("expected a value, found end of expression", at: 4))
        #expect(error("(id > 1")?.message == "expected `)` to close `(`, found end of expression")
        #expect(error("id 1")?.message == "unexpected `1` after the expression")
        #expect(error("shop = \"x\"")?.offset == 7)
        #expect(error("'open")?.message == "unterminated string literal")
        #expect(error("99999999999999999999")?.message == "integer literal `99999999999999999999` out of range")
        #expect(error("9223372036854775808")?.message == "integer literal `9223372036854775808` out of range")
        #expect(error("Id > 1")?.help == "did you mean `id`?")
        #expect(error("id > 1 AND NOT ok") == nil)
        #expect(error("") == ExpressionError("empty expression", at: 0))
    }
}
