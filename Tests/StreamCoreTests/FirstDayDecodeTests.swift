import Foundation
import Testing

@testable import StreamCore

/// Decoding rules a new user could not see before: decimal rounding, timestamp units, stray event times,
/// dead-letter bytes, `%j %F %y` in buckets.
@Suite struct FirstDayDecodeTests {
    func decodeAll(_ lines: [String], schema: Schema, wrap: (any RecordDecoder) -> any RecordDecoder = { $0 })
        -> (batch: Batch, errors: [String])
    {
        var decoder = wrap(JSONRecordDecoder(schema: schema))
        var batch = Batch(schema: schema)
        var errors: [String] = []
        for line in lines {
            if let e = decode(&decoder, line, into: &batch) { errors.append(e.message) }
        }
        return (batch, errors)
    }

    @Test func extraDecimalDigitsRoundHalfToEvenByDefault() {
        let schema = Schema([Field("amount", .decimal(scale: 2))])
        let (batch, errors) = decodeAll(
            [#"{"amount":1.005}"#, #"{"amount":2.675}"#, #"{"amount":1.0e-5}"#, #"{"amount":"0.125"}"#], schema: schema)
        #expect(errors.isEmpty)
        #expect(batch.columns[0].int64s == [100, 268, 0, 12])
    }

    @Test func strictDecimalsMakeValuesThatWouldRoundBadRecords() {
        var field = Field("amount", .decimal(scale: 2))
        field.strictDecimal = true
        let schema = Schema([field])
        let (batch, errors) = decodeAll(
            [
                #"{"amount":1.005}"#, #"{"amount":2.675}"#, #"{"amount":1.0e-5}"#, #"{"amount":1.50}"#,
                #"{"amount":1.2300}"#, #"{"amount":12e-1}"#,
            ],
            schema: schema)
        #expect(batch.columns[0].int64s == [150, 123, 120])
        #expect(errors.count == 3)
        #expect(errors.first == "field `amount`: 1.005 has more fractional digits than decimal keeps")
    }

    @Test func strictDecimalsApplyToCSVToo() {
        var field = Field("amount", .decimal(scale: 2))
        field.strictDecimal = true
        let schema = Schema([field])
        var decoder = CSVRecordDecoder(schema: schema, header: ["amount"])
        var batch = Batch(schema: schema)
        #expect(decode(&decoder, "2.675", into: &batch)?.message.contains("more fractional digits") == true)
        #expect(decode(&decoder, "2.67", into: &batch) == nil)
        #expect(batch.columns[0].int64s == [267])
    }

    @Test(arguments: [
        (TimestampUnit.seconds, "1795737600", Int64(1_795_737_600_000)),
        (.milliseconds, "1795737600123", 1_795_737_600_123),
        (.microseconds, "1795737600123456", 1_795_737_600_123),
        (.nanoseconds, "1795737600123456789", 1_795_737_600_123),
    ])
    func epochNumbersAreReadInTheDeclaredUnit(_ unit: TimestampUnit, _ text: String, _ expected: Int64) {
        var field = Field("ts", .timestamp)
        field.timeUnit = unit
        let schema = Schema([field])
        let json = decodeAll(["{\"ts\":\(text)}", #"{"ts":"2026-11-27T00:00:00Z"}"#], schema: schema)
        #expect(json.errors.isEmpty)
        #expect(json.batch.columns[0].int64s == [expected, 1_795_737_600_000])
        var csv = CSVRecordDecoder(schema: schema, header: ["ts"])
        var batch = Batch(schema: schema)
        #expect(decode(&csv, text, into: &batch) == nil)
        #expect(batch.columns[0].int64s == [expected])
    }

    @Test func secondsThatOverflowMillisecondsAreABadRecord() {
        var field = Field("ts", .timestamp)
        field.timeUnit = .seconds
        let (_, errors) = decodeAll([#"{"ts":9223372036854776}"#], schema: Schema([field]))
        #expect(errors == ["field `ts`: timestamp out of range: 9223372036854776"])
    }

    // MARK: Event-time guard

    @Test func guardRefusesARowFarAheadOfTheWatermarkAndKeepsItsReference() {
        var g = EventTimeGuard(maxAheadMs: 86_400_000, maxDisorderMs: 5_000)
        do { let ok = g.admit(1_000_000, wallClockMs: nil); #expect(ok) }
        do { let ok = g.admit(1_000_000 + 2 * 86_400_000, wallClockMs: nil); #expect(!ok) }
        #expect(g.newest == 1_000_000)
        do { let ok = g.admit(1_000_000 - 5_000 + 86_400_000, wallClockMs: nil); #expect(ok) }
        do { let ok = g.admit(500, wallClockMs: nil); #expect(ok) }
    }

    @Test func liveGuardAlsoBoundsTheFirstRowByTheWallClock() {
        var g = EventTimeGuard(maxAheadMs: 60_000, maxDisorderMs: 0)
        do { let ok = g.admit(10_000_000, wallClockMs: 1_000_000); #expect(!ok) }
        do { let ok = g.admit(1_050_000, wallClockMs: 1_000_000); #expect(ok) }
        // A quiet split that resumes with current data is fine: the wall clock moved on too.
        do { let ok = g.admit(9_000_000, wallClockMs: 9_000_000); #expect(ok) }
    }

    @Test func guardedDecoderTurnsAStrayEventTimeIntoABadRecord() {
        let schema = Schema([Field("id", .int64), Field("ts", .timestamp)])
        let rows = [
            #"{"id":1,"ts":"2026-11-27T10:00:00Z"}"#, #"{"id":2,"ts":"9026-11-27T10:00:00Z"}"#,
            #"{"id":3,"ts":"2026-11-27T10:00:01Z"}"#,
        ]
        let (batch, errors) = decodeAll(rows, schema: schema) {
            EventTimeGuardedDecoder($0, field: 1, maxAheadMs: 86_400_000, maxDisorderMs: 5_000, wallClock: nil)
        }
        #expect(batch.columns[0].int64s == [1, 3])
        #expect(batch.count == 2)
        #expect(errors.count == 1)
        #expect(errors[0].hasPrefix("field `ts`: event time 9026-11-27T10:00:00"))
    }

    @Test func guardedDecoderChecksTheWallClockThroughTheInjectedClock() {
        let schema = Schema([Field("ts", .timestamp)])
        let clock = ManualClock()
        clock.now.store(1_795_737_600_000, ordering: .relaxed)
        let (batch, errors) = decodeAll(["{\"ts\":1795737600000}", "{\"ts\":1795824000001}"], schema: schema) {
            EventTimeGuardedDecoder($0, field: 0, maxAheadMs: 60_000, maxDisorderMs: 0, wallClock: clock)
        }
        #expect(batch.count == 1)
        #expect(errors.count == 1)
    }

    @Test func guardIsOffWithoutABound() {
        let schema = Schema([Field("ts", .timestamp)])
        var spec = EventTimeSpec(field: "ts")
        spec.maxAheadMs = nil
        let decoder = RecordDecoders.guarded(
            JSONRecordDecoder(schema: schema), schema: schema, spec: spec, wallClock: nil)
        #expect(decoder is JSONRecordDecoder)
        spec.maxAheadMs = 1_000
        let guarded = RecordDecoders.guarded(
            JSONRecordDecoder(schema: schema), schema: schema, spec: spec, wallClock: nil)
        #expect(guarded is EventTimeGuardedDecoder)
    }

    // MARK: Dead letters and buckets

    @Test func deadLetterKeepsInvalidUTF8AsBase64AndTextAsText() throws {
        let path = "/tmp/dead-letter-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handler = try BadRecordHandler(policy: .deadLetter(path: path))
        let bytes: [UInt8] = [0x7B, 0xFF, 0xFE, 0x22, 0x00, 0x7D]
        try bytes.withUnsafeBytes { try handler.handle(raw: $0, origin: "f:1", error: DecodeError("bad", at: 1)) }
        try Array("{\"a\":é}".utf8).withUnsafeBytes {
            try handler.handle(raw: $0, origin: "f:2", error: DecodeError("bad", at: 5))
        }
        let text = try readText(path)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"raw_base64\":\"\(Base64.encode(bytes))\""))
        #expect(Base64.encode(bytes) == "e//+IgB9")
        #expect(lines[1].contains("\"raw\":\"{\\\"a\\\":é}\""))
    }

    @Test func base64MatchesRFC4648Vectors() {
        for (input, expected) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            #expect(Base64.encode(Array(input.utf8)) == expected)
        }
    }

    @Test func bucketFormatsDayOfYearShortYearAndFullDate() throws {
        let schema = Schema([Field("t", .timestamp)])
        var template = try BucketTemplate("{t:%F}/{t:%j}/{t:%y}", schema: schema)
        // 2024-12-31 (a leap year: day 366) and 2026-02-01.
        let batch = Batch(
            schema: schema, columns: [Column(int64s: [1_735_603_200_000, 1_769_904_000_000], type: .timestamp)])
        #expect(template.bucket(batch, row: 0) == "2024-12-31/366/24")
        #expect(template.bucket(batch, row: 1) == "2026-02-01/032/26")
    }
}

func readText(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
