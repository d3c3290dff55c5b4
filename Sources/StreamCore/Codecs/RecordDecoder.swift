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
