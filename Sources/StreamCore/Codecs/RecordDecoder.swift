/// A record that does not fit the schema: what is wrong and where in the record's bytes.
public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// Byte offset within the record where the problem was found.
    public var offset: Int
    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }

    /// Every value `reason` takes.
    public static let reasons = [
        "event_time_ahead", "missing_field", "type_mismatch", "out_of_range", "duplicate_field", "malformed",
    ]

    /// A stable name for what went wrong, for counts by reason: `event_time_ahead`, `missing_field`,
    /// `type_mismatch`, `out_of_range`, `duplicate_field` or `malformed` (not parseable as the format).
    public var reason: String {
        // Read from the message, so the decoders' many throw sites need not each name a reason.
        let field = message.hasPrefix("field `")
        if field && message.contains("is further ahead of the watermark") { return "event_time_ahead" }
        if field && (message.contains(": missing") || message.contains(": null in a non-nullable")
            || message.contains(": empty value in a non-nullable"))
        {
            return "missing_field"
        }
        if field && (message.contains("out of range") || message.contains("fractional digits")) { return "out_of_range" }
        if field && message.contains(": duplicate") { return "duplicate_field" }
        if field && message.contains(": expected ") { return "type_mismatch" }
        return "malformed"
    }

    /// A decimal with more fractional digits than its scale under `decimal_rounding: strict`.
    static func tooPrecise(_ field: Field, _ text: String, at offset: Int) -> DecodeError {
        DecodeError("field `\(field.name)`: \(text) has more fractional digits than \(field.type) keeps", at: offset)
    }
}

/// Decodes one record's bytes straight into the columns of a batch.
public protocol RecordDecoder {
    /// Appends one row decoded from `bytes` to `batch`. On error the batch is left as it was.
    mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError)
}
