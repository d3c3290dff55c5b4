import Testing

@testable import StreamCore

@Suite struct CSVDecoderTests {
    let schema = Schema([
        Field("id", .int64), Field("name", .string), Field("amount", .decimal(scale: 2)),
        Field("ok", .bool), Field("ts", .timestamp), Field("score", .double, nullable: true),
    ])

    @Test func decodesSchemaOrderWithQuotingAndLineEnds() {
        var decoder = CSVRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        #expect(decode(&decoder, "1,plain,12.5,true,2026-11-27T10:15:30Z,1.5\n", into: &batch) == nil)
        #expect(decode(&decoder, #"2,"a, ""quoted"" name",0.1,0,1000,"# + "\r\n", into: &batch) == nil)
        #expect(decode(&decoder, #"3,"",-3,FALSE,0,"2e3""#, into: &batch) == nil)
        #expect(
            batch.rows() == [
                [
                    .int64(1), .string("plain"), .decimal(1250, scale: 2), .bool(true), .timestamp(1_795_774_530_000),
                    .double(1.5),
                ],
                [
                    .int64(2), .string(#"a, "quoted" name"#), .decimal(10, scale: 2), .bool(false), .timestamp(1000),
                    .null,
                ],
                [.int64(3), .string(""), .decimal(-300, scale: 2), .bool(false), .timestamp(0), .double(2000)],
            ]
        )
    }

    @Test func headerMapsColumnsByNameAndIgnoresUnknownOnes() {
        let header = ["extra", "ts", "ok", "amount", "name", "id"]
        var decoder = CSVRecordDecoder(schema: schema, header: header, delimiter: UInt8(ascii: ";"))
        var batch = Batch(schema: schema)
        #expect(
            decode(&decoder, "zzz;5;yes;1;n;7", into: &batch)?.message == #"field `ok`: expected bool, found "yes""#
        )
        #expect(decode(&decoder, "zzz;5;1;1;n;7", into: &batch) == nil)
        #expect(
            batch.rows() == [[.int64(7), .string("n"), .decimal(100, scale: 2), .bool(true), .timestamp(5), .null]]
        )
    }

    @Test func badLinesThrowAndLeaveTheBatchUnchanged() {
        var decoder = CSVRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        #expect(decode(&decoder, "1,a,1,true,0,", into: &batch) == nil)
        let before = batch
        func message(_ line: String) -> String? { decode(&decoder, line, into: &batch)?.message }
        #expect(message("x,a,1,true,0,") == #"field `id`: expected int64, found "x""#)
        #expect(message("99999999999999999999,a,1,true,0,") == "field `id`: int64 out of range: 99999999999999999999")
        #expect(message("1,a,abc,true,0,") == #"field `amount`: expected decimal, found "abc""#)
        #expect(message("1,a,1,true") == "field `ts`: missing (the field is not nullable)")
        #expect(message("1,a,1,true,0,,7") == "too many values: expected 6")
        #expect(message(#"1,"open,1,true,0,"#) == "unterminated quoted value")
        #expect(message(#"1,"a"b,1,true,0,"#) == "unexpected `b` after a closing quote")
        #expect(message(#"1,a"b,1,true,0,"#) == "quote inside an unquoted value")
        #expect(message(",a,1,true,0,") == "field `id`: empty value in a non-nullable int64 field")
        #expect(message("1,a,1,true,nope,2") == #"field `ts`: expected timestamp, found "nope""#)
        #expect(batch == before)
        #expect(decode(&decoder, "2,b,2,false,1,3", into: &batch) == nil)
        #expect(batch.count == 2)
    }

    @Test func factoryBuildsTheDecoderOfTheFormat() {
        var batch = Batch(schema: schema)
        var csv = RecordDecoders.make(format: .csv, schema: schema, csvHeader: ["id", "name", "amount", "ok", "ts"])
        var json = RecordDecoders.make(format: .json, schema: schema)
        #expect(decode(&csv, "1,a,1,true,0", into: &batch) == nil)
        #expect(decode(&json, #"{"id":2,"name":"b","amount":2,"ok":false,"ts":1}"#, into: &batch) == nil)
        #expect(batch.column("id")?.int64s == [1, 2])
    }
}
