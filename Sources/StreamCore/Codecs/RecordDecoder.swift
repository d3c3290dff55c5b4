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
}

/// Decodes one record's bytes straight into the columns of a batch.
public protocol RecordDecoder {
    /// Appends one row decoded from `bytes` to `batch`. On error the batch is left as it was.
    mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError)
}
