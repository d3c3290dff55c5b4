import Testing

@testable import StreamCore

/// Bad records are counted by reason (`streamctl_dead_letters_total{reason}`): each decoder error names one.
@Suite struct DecodeErrorReasonTests {
    let schema = Schema([Field("order_id", .int64), Field("shop", .string), Field("amount", .decimal(scale: 2))])

    func reason(json line: String) -> String? {
        var decoder = JSONRecordDecoder(schema: schema)
        var batch = Batch(schema: schema)
        return decode(&decoder, line, into: &batch)?.reason
    }

    @Test func jsonErrorsNameTheirReason() {
        #expect(reason(json: "not json") == "malformed")
        #expect(reason(json: #"{"order_id":1,"shop":"a""#) == "malformed")
        #expect(reason(json: #"{"order_id":1,"shop":"a","amount":1} x"#) == "malformed")
        #expect(reason(json: #"{"order_id":"x","shop":"a","amount":1}"#) == "type_mismatch")
        #expect(reason(json: #"{"shop":"a","amount":1}"#) == "missing_field")
        #expect(reason(json: #"{"order_id":null,"shop":"a","amount":1}"#) == "missing_field")
        #expect(reason(json: #"{"order_id":99999999999999999999,"shop":"a","amount":1}"#) == "out_of_range")
        #expect(reason(json: #"{"order_id":1,"order_id":2,"shop":"a","amount":1}"#) == "duplicate_field")
        #expect(reason(json: #"{"order_id":1,"shop":"a","amount":1}"#) == nil)
    }

    @Test func theEventTimeGuardsRefusalIsItsOwnReason() {
        let refused = DecodeError(
            "field `ts`: event time 2030-01-01T00:00:00Z is further ahead of the watermark than `event_time.max_ahead` "
                + "allows (the latest plausible now is 2026-01-01T00:00:00Z)", at: 0)
        #expect(refused.reason == "event_time_ahead")
        #expect(DecodeError.reasons.contains(refused.reason))
    }

    @Test func countsByReasonAddUpToTheCount() throws {
        let handler = try BadRecordHandler(policy: .skip)
        for line in ["not json", #"{"order_id":"x","shop":"a","amount":1}"#, "]]"] {
            var decoder = JSONRecordDecoder(schema: schema)
            var batch = Batch(schema: schema)
            let error = try #require(decode(&decoder, line, into: &batch))
            try [UInt8](line.utf8).withUnsafeBytes { try handler.handle(raw: $0, origin: "test", error: error) }
        }
        #expect(handler.countsByReason == ["malformed": 2, "type_mismatch": 1])
        #expect(handler.count == 3)
    }
}
