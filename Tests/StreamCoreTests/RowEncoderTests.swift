import StreamCore
import Testing

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

private func batch(_ fields: [Field], _ rows: [[Value]]) -> Batch {
    var b = Batch(schema: Schema(fields))
    for row in rows {
        for (i, v) in row.enumerated() { b.columns[i].append(v) }
        b.commitRow()
    }
    return b
}

private func json(_ type: FieldType, _ value: Value) -> String {
    let b = batch([Field("v", type, nullable: true)], [[value]])
    return text(JSONRowEncoder.jsonMessage(b, row: 0))
}

@Suite struct JSONRowEncoderTests {
    @Test func encodesEveryTypeAsOneObject() {
        let fields = [
            Field("id", .int64), Field("price", .decimal(scale: 2)), Field("ratio", .double), Field("ok", .bool),
            Field("name", .string), Field("ts", .timestamp), Field("note", .string, nullable: true),
        ]
        let b = batch(
            fields,
            [
                [
                    .int64(-42), .decimal(1250, scale: 2), .double(0.1), .bool(true), .string("acme"),
                    .timestamp(1_795_773_600_000), .null,
                ]
            ])
        var out: [UInt8] = []
        JSONRowEncoder(schema: b.schema).encode(b, row: 0, into: &out)
        #expect(
            text(out) == #"{"id":-42,"price":12.50,"ratio":0.1,"ok":true,"name":"acme","#
                + #""ts":"2026-11-27T10:00:00.000Z","note":null}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(json(.string, .string("a\"b\\c\nd\re\tf\u{01}\u{1F}")) == #"{"v":"a\"b\\c\nd\re\tf\u0001\u001f"}"#)
    }

    @Test func passesUnicodeThroughAndReplacesInvalidUTF8() {
        #expect(json(.string, .string("héllo 🚀 日本")) == #"{"v":"héllo 🚀 日本"}"#)
        var c = Column(type: .string)
        [UInt8]([0x61, 0xFF, 0x62, 0xC3]).withUnsafeBytes { c.strings.append(bytes: $0) }
        let b = Batch(schema: Schema([Field("v", .string)]), columns: [c])
        #expect(text(JSONRowEncoder.jsonMessage(b, row: 0)) == "{\"v\":\"a\u{FFFD}b\u{FFFD}\"}")
    }

    @Test func escapesFieldNames() {
        let b = batch([Field("a\"b", .int64)], [[.int64(1)]])
        #expect(text(JSONRowEncoder.jsonMessage(b, row: 0)) == #"{"a\"b":1}"#)
    }

    @Test func writesDecimalsExactlyWithTheirScale() {
        #expect(json(.decimal(scale: 2), .decimal(1250, scale: 2)) == #"{"v":12.50}"#)
        #expect(json(.decimal(scale: 2), .decimal(-5, scale: 2)) == #"{"v":-0.05}"#)
        #expect(json(.decimal(scale: 4), .decimal(10_000, scale: 4)) == #"{"v":1.0000}"#)
        #expect(json(.decimal(scale: 0), .decimal(7, scale: 0)) == #"{"v":7}"#)
        #expect(json(.decimal(scale: 18), .decimal(Int64.min, scale: 18)) == #"{"v":-9.223372036854775808}"#)
    }

    @Test func writesTimestampsAsRFC3339UTCWithMilliseconds() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-14_182_940_000, "1969-07-20T20:17:40.000Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),
            (-11_676_096_000_000, "1600-01-01T00:00:00.000Z"),
            (4_133_980_799_999, "2100-12-31T23:59:59.999Z"),
        ]
        for (ms, expected) in cases {
            #expect(json(.timestamp, .timestamp(ms)) == "{\"v\":\"\(expected)\"}")
        }
    }

    @Test func writesDoublesInShortestRoundTripForm() {
        #expect(json(.double, .double(1)) == #"{"v":1.0}"#)
        #expect(json(.double, .double(-0.0)) == #"{"v":-0.0}"#)
        #expect(json(.double, .double(0.1)) == #"{"v":0.1}"#)
        #expect(json(.double, .double(-2.5)) == #"{"v":-2.5}"#)
        #expect(json(.double, .double(1e300)) == #"{"v":1e+300}"#)
        #expect(json(.double, .double(.nan)) == #"{"v":null}"#)
        #expect(json(.double, .double(.infinity)) == #"{"v":null}"#)
    }

    @Test func writesNullsAndBools() {
        #expect(json(.int64, .null) == #"{"v":null}"#)
        #expect(json(.bool, .bool(false)) == #"{"v":false}"#)
        #expect(json(.timestamp, .null) == #"{"v":null}"#)
    }

    @Test func encodeAllEndsEveryRowWithANewline() {
        let b = batch([Field("n", .int64)], [[.int64(1)], [.int64(2)], [.int64(3)]])
        var out: [UInt8] = []
        RowEncoder(format: .json, schema: b.schema).encodeAll(b, into: &out)
        #expect(text(out) == "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")
    }
}

@Suite struct CSVRowEncoderTests {
    @Test func quotesOnlyFieldsThatNeedIt() {
        let fields = [Field("s", .string), Field("n", .int64, nullable: true), Field("d", .decimal(scale: 2))]
        let b = batch(
            fields,
            [
                [.string("plain"), .int64(1), .decimal(5, scale: 2)],
                [.string("a,b"), .null, .decimal(-100, scale: 2)],
                [.string("say \"hi\""), .int64(3), .decimal(0, scale: 2)],
                [.string("two\nlines"), .int64(4), .decimal(1, scale: 2)],
            ])
        var out: [UInt8] = []
        CSVRowEncoder(schema: b.schema).encodeAll(b, into: &out)
        #expect(text(out) == "plain,1,0.05\n\"a,b\",,-1.00\n\"say \"\"hi\"\"\",3,0.00\n\"two\nlines\",4,0.01\n")
    }

    @Test func headerNamesTheFieldsQuotedWhenNeeded() {
        let encoder = RowEncoder(format: .csv, schema: Schema([Field("id", .int64), Field("a,b", .string)]))
        var out: [UInt8] = []
        encoder.header(into: &out)
        #expect(text(out) == "id,\"a,b\"\n")
        #expect(encoder.hasHeader)
        #expect(!RowEncoder(format: .json, schema: Schema([])).hasHeader)
    }

    @Test func writesTimestampsBoolsAndDoubles() {
        let b = batch(
            [Field("t", .timestamp), Field("b", .bool), Field("x", .double)],
            [[.timestamp(-1), .bool(true), .double(2.5)]])
        var out: [UInt8] = []
        CSVRowEncoder(schema: b.schema).encode(b, row: 0, into: &out)
        #expect(text(out) == "1969-12-31T23:59:59.999Z,true,2.5")
    }
}

@Suite struct ValueTextTests {
    @Test func valuesBecomePlainTextAsInJSONButUnquoted() {
        func text(_ c: Column) -> String {
            var out: [UInt8] = []
            ValueText.append(c, row: 0, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text(Column(int64s: [1_795_000_000_000], type: .timestamp)) == "2026-11-18T11:06:40.000Z")
        #expect(text(Column(int64s: [-1250], type: .decimal(scale: 2))) == "-12.50")
        #expect(text(Column(int64s: [42])) == "42")
        #expect(text(Column(strings: ["Lisbon, PT"])) == "Lisbon, PT")
        var null = Column(type: .string)
        null.appendNull()
        var out: [UInt8] = []
        #expect(!ValueText.append(null, row: 0, into: &out))
        #expect(out.isEmpty)
    }
}
