import Testing

@testable import StreamCore

/// Decodes `line` into `batch`, returning the error if any.
func decode<D: RecordDecoder>(_ decoder: inout D, _ line: String, into batch: inout Batch) -> DecodeError? {
    var text = line
    return text.withUTF8 { bytes in
        do throws(DecodeError) {
            try decoder.decode(UnsafeRawBufferPointer(bytes), into: &batch)
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct JSONDecoderTests {
    let orders = Schema([
        Field("order_id", .int64), Field("shop", .string), Field("price", .double), Field("paid", .bool),
        Field("ts", .timestamp), Field("amount", .decimal(scale: 2)), Field("note", .string, nullable: true),
    ])

    func decodeOne(_ line: String, schema: Schema? = nil) throws -> [Value] {
        var decoder = JSONRecordDecoder(schema: schema ?? orders)
        var batch = Batch(schema: schema ?? orders)
        if let error = decode(&decoder, line, into: &batch) { throw error }
        #expect(batch.count == 1)
        return batch.rows()[0]
    }

    /// The message of the error `line` raises, after checking the batch did not change.
    func failure(_ line: String, schema: Schema? = nil) -> DecodeError? {
        guard let schema else {
            var decoder = JSONRecordDecoder(schema: orders)
            var batch = Batch(schema: orders)
            _ = decode(&decoder, #"{"order_id":1,"shop":"a","price":1,"paid":true,"ts":0,"amount":1}"#, into: &batch)
            let before = batch
            let error = decode(&decoder, line, into: &batch)
            #expect(batch == before, "batch changed by a bad record")
            // The decoder still works after a failure.
            let good = #"{"order_id":2,"shop":"b","price":2,"paid":false,"ts":1,"amount":2}"#
            #expect(decode(&decoder, good, into: &batch) == nil)
            #expect(batch.count == before.count + 1)
            return error
        }
        var decoder = JSONRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        let error = decode(&decoder, line, into: &batch)
        #expect(batch == Batch(schema: schema), "batch changed by a bad record")
        return error
    }

    @Test func decodesEveryTypeInAnyKeyOrder() throws {
        let row = try decodeOne(
            #" { "shop" : "north", "order_id": 42, "price": 19.5, "paid": true, "#
                + #""ts": "2026-11-27T10:15:30Z", "amount": 12.5, "note": "hi" } "#
        )
        #expect(
            row == [
                .int64(42), .string("north"), .double(19.5), .bool(true), .timestamp(1_795_774_530_000),
                .decimal(1250, scale: 2), .string("hi"),
            ]
        )
    }

    @Test func nullableFieldMissingOrNullBecomesNull() throws {
        var decoder = JSONRecordDecoder(schema: orders)
        var batch = Batch(schema: orders)
        let base = #""order_id":1,"shop":"a","price":1,"paid":false,"ts":5,"amount":"3.10""#
        #expect(decode(&decoder, "{" + base + "}", into: &batch) == nil)
        #expect(decode(&decoder, "{" + base + #","note":null}"#, into: &batch) == nil)
        #expect(decode(&decoder, "{" + base + #","note":"x"}"#, into: &batch) == nil)
        #expect(batch.rows().map { $0[6] } == [.null, .null, .string("x")])
        #expect(batch.rows()[0][5] == .decimal(310, scale: 2))
    }

    @Test func unknownKeysAreSkippedIncludingNestedValues() throws {
        let row = try decodeOne(
            #"{"x":{"a":[1,2,{"b":"}"}],"c":null},"order_id":7,"y":[true,false,-1.5e3,"\"]"],"shop":"s","#
                + #""price":0,"paid":false,"ts":0,"amount":0,"z":{}}"#
        )
        #expect(row[0] == .int64(7))
        #expect(row[1] == .string("s"))
    }

    @Test func stringEscapesAndUnicode() throws {
        let schema = Schema([Field("s", .string)])
        #expect(
            try decodeOne(#"{"s":"a\"b\\c\/d\b\f\n\r\t"}"#, schema: schema) == [.string("a\"b\\c/d\u{8}\u{c}\n\r\t")]
        )
        #expect(try decodeOne(#"{"s":"\u00e9\u20AC\ud83d\ude00"}"#, schema: schema) == [.string("é€😀")])
        #expect(try decodeOne(#"{"s":"zürich 東京 🎉"}"#, schema: schema) == [.string("zürich 東京 🎉")])
        #expect(try decodeOne(#"{"\u0073":"escaped key"}"#, schema: schema) == [.string("escaped key")])
        #expect(try decodeOne(#"{"s":""}"#, schema: schema) == [.string("")])
    }

    @Test func int64Edges() throws {
        let schema = Schema([Field("n", .int64)])
        #expect(try decodeOne(#"{"n":9223372036854775807}"#, schema: schema) == [.int64(.max)])
        #expect(try decodeOne(#"{"n":-9223372036854775808}"#, schema: schema) == [.int64(.min)])
        #expect(try decodeOne(#"{"n":-0}"#, schema: schema) == [.int64(0)])
        #expect(
            failure(#"{"n":9223372036854775808}"#, schema: schema)?.message
                == "field `n`: int64 out of range: 9223372036854775808"
        )
        #expect(
            failure(#"{"n":-9223372036854775809}"#, schema: schema)?.message
                == "field `n`: int64 out of range: -9223372036854775809"
        )
        #expect(failure(#"{"n":1.5}"#, schema: schema)?.message == "field `n`: expected int64, found number 1.5")
        #expect(failure(#"{"n":1e3}"#, schema: schema)?.message == "field `n`: expected int64, found number 1e3")
    }

    @Test func doubleEdges() throws {
        let schema = Schema([Field("d", .double)])
        func d(_ text: String) throws -> Double? {
            if case .double(let v) = try decodeOne(#"{"d":"# + text + "}", schema: schema)[0] { return v }
            return nil
        }
        #expect(try d("1.7976931348623157e308") == Double.greatestFiniteMagnitude)
        #expect(try d("5e-324") == Double.leastNonzeroMagnitude)
        #expect(try d("-0.0")?.sign == .minus)
        #expect(try d("-0.0") == 0)
        #expect(try d("0.1") == 0.1)
        #expect(try d("123456789012345678901234567890") == 123456789012345678901234567890.0)
        #expect(try d("-2.5E-3") == -0.0025)
        #expect(try d("42") == 42)
        #expect(failure(#"{"d":01}"#, schema: schema)?.message.hasPrefix("malformed JSON") == true)
        #expect(failure(#"{"d":1.}"#, schema: schema)?.message == "malformed JSON: invalid number")
        #expect(failure(#"{"d":"1"}"#, schema: schema)?.message == #"field `d`: expected double, found string "1""#)
    }

    @Test func timestampsAcceptEpochMillisAndRFC3339WithOffsetsAndFractions() throws {
        let schema = Schema([Field("ts", .timestamp)])
        func ts(_ text: String) throws -> Value { try decodeOne(#"{"ts":"# + text + "}", schema: schema)[0] }
        #expect(try ts("1795774530000") == .timestamp(1_795_774_530_000))
        #expect(try ts(#""2026-11-27T10:15:30Z""#) == .timestamp(1_795_774_530_000))
        #expect(try ts(#""2026-11-27T10:15:30.123+01:00""#) == .timestamp(1_795_770_930_123))
        #expect(try ts(#""2026-11-27T10:15:30.5-02:30""#) == .timestamp(1_795_783_530_500))
        #expect(try ts(#""2026-11-27T10:15:30.123456Z""#) == .timestamp(1_795_774_530_123))
        #expect(try ts(#""1970-01-01T00:00:00Z""#) == .timestamp(0))
        #expect(try ts(#""1969-12-31T23:59:59.999Z""#) == .timestamp(-1))
        #expect(try ts(#""2024-02-29T00:00:00Z""#) == .timestamp(1_709_164_800_000))
        #expect(
            failure(#"{"ts":"2023-02-29T00:00:00Z"}"#, schema: schema)?.message
                == #"field `ts`: expected an RFC 3339 timestamp or epoch milliseconds, found string "2023-02-29T00:00:00Z""#
        )
        #expect(failure(#"{"ts":"2026-11-27 10:15"}"#, schema: schema) != nil)
        #expect(failure(#"{"ts":1.5}"#, schema: schema)?.message == "field `ts`: expected timestamp, found number 1.5")
    }

    @Test func decimalsAreExactAndRoundHalfToEven() throws {
        let schema = Schema([Field("a", .decimal(scale: 2))])
        func a(_ text: String) throws -> Value { try decodeOne(#"{"a":"# + text + "}", schema: schema)[0] }
        #expect(try a("12.5") == .decimal(1250, scale: 2))
        #expect(try a("-0.01") == .decimal(-1, scale: 2))
        #expect(try a(#""99.99""#) == .decimal(9999, scale: 2))
        #expect(try a("1.5e2") == .decimal(15000, scale: 2))
        #expect(try a("125e-3") == .decimal(12, scale: 2))
        #expect(try a("0.125") == .decimal(12, scale: 2))
        #expect(try a("0.135") == .decimal(14, scale: 2))
        #expect(try a("0.1251") == .decimal(13, scale: 2))
        #expect(try a("-0.125") == .decimal(-12, scale: 2))
        #expect(try a("0.001") == .decimal(0, scale: 2))
        #expect(try a("92233720368547758.07") == .decimal(.max, scale: 2))
        #expect(
            failure(#"{"a":92233720368547758.08}"#, schema: schema)?.message
                == "field `a`: decimal out of range: 92233720368547758.08"
        )
        #expect(
            failure(#"{"a":"abc"}"#, schema: schema)?.message == #"field `a`: expected decimal, found string "abc""#
        )
        #expect(failure(#"{"a":true}"#, schema: schema)?.message == "field `a`: expected decimal, found bool true")
    }

    @Test func malformedRecordsLeaveTheBatchUnchanged() {
        let full = #"{"order_id":3,"shop":"s","price":1,"paid":true,"ts":0,"amount":1,"note":"n"}"#
        #expect(failure(String(full.dropLast(3)))?.message == "truncated record in string")
        #expect(failure(String(full.dropLast()))?.message == "truncated record: expected `,` or `}`")
        #expect(failure(#"{"order_id":3,"shop":"a\qb"}"#)?.message == #"malformed JSON: invalid escape `\q` in string"#)
        #expect(
            failure(#"{"order_id":3,"shop":"\ud800"}"#)?.message == #"malformed JSON: unpaired high surrogate \ud800"#
        )
        #expect(
            failure(#"{"order_id":3,"price":1,"paid":true,"ts":0,"amount":1}"#)?.message
                == "field `shop`: missing (the field is not nullable)"
        )
        #expect(
            failure(#"{"order_id":3,"shop":null,"price":1,"paid":true,"ts":0,"amount":1}"#)?.message
                == "field `shop`: null in a non-nullable string field"
        )
        #expect(
            failure(#"{"order_id":"3","shop":"s","price":1,"paid":true,"ts":0,"amount":1}"#)?.message
                == #"field `order_id`: expected int64, found string "3""#
        )
        #expect(failure(full + " x")?.message == "trailing characters after the JSON object: `x`")
        #expect(failure(full + "}")?.message == "trailing characters after the JSON object: `}`")
        #expect(failure(#"{"order_id":3,"order_id":4}"#)?.message == "field `order_id`: duplicate key")
        #expect(failure("[1]")?.message == "malformed JSON: expected a JSON object `{`, found `[`")
        #expect(failure("")?.message == "empty record")
        #expect(failure(#"{"shop":"a", "x": [1,,2]}"#)?.message == "malformed JSON: expected a value, found `,`")
        #expect(
            failure(#"{"shop":"é"# + "\u{1}\"}")?.message == "malformed JSON: unescaped control character in string"
        )
    }

    @Test func failureAfterANullRestoresTheValidityArray() {
        let schema = Schema([Field("a", .int64, nullable: true), Field("b", .int64)])
        var decoder = JSONRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        #expect(decode(&decoder, #"{"a":1,"b":2}"#, into: &batch) == nil)
        let before = batch
        #expect(decode(&decoder, #"{"a":null,"b":"x"}"#, into: &batch)?.offset == 14)
        #expect(batch == before)
        #expect(batch.columns[0].validity == nil)
    }

    @Test func invalidUTF8IsRejected() {
        let schema = Schema([Field("s", .string)])
        var decoder = JSONRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        let bytes: [UInt8] = Array(#"{"s":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = bytes.withUnsafeBytes { raw -> DecodeError? in
            do throws(DecodeError) { try decoder.decode(raw, into: &batch) } catch { return error }
            return nil
        }
        #expect(error == DecodeError("invalid UTF-8 in string", at: 6))
        #expect(batch.count == 0 && batch.columns[0].strings.bytes.isEmpty)
    }
}

@Suite struct DecodeBenchmarkSmoke {
    @Test func benchmarkDecodesEveryGeneratedRow() {
        let result = DecodeBenchmark.run(rows: 20_000)
        print("decode: \(Int(result.rowsPerSecond)) rows/s, \(Int(result.bytesPerSecond / 1_000_000)) MB/s")
        #expect(result.rowsPerSecond > 0)
    }
}
