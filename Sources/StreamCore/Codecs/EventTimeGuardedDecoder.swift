/// A decoder that refuses rows whose event time is implausibly far ahead (see `EventTimeGuard`): the row
/// is taken back out of the batch and reported as a `DecodeError`, so `on_bad_record` applies to it and it
/// never reaches the watermark. One guard per decoder: a file source makes one per file (its split), a
/// Kafka reader one for the partitions it reads, so there the reference is the newest of all of them.
public struct EventTimeGuardedDecoder: RecordDecoder {
    var inner: any RecordDecoder
    let field: Int
    var guardrail: EventTimeGuard
    /// The wall clock of a live run; nil in a backfill, where history is expected to be far behind it.
    let wallClock: (any StreamClock)?

    public init(
        _ inner: any RecordDecoder, field: Int, maxAheadMs: Int64, maxDisorderMs: Int64, wallClock: (any StreamClock)?
    ) {
        self.inner = inner
        self.field = field
        self.guardrail = EventTimeGuard(maxAheadMs: maxAheadMs, maxDisorderMs: maxDisorderMs)
        self.wallClock = wallClock
    }

    public mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout Batch) throws(DecodeError) {
        try inner.decode(bytes, into: &batch)
        let row = batch.count - 1
        let column = batch.columns[field]
        guard column.isValid(row) else { return }
        let t = column.int64s[row]
        // The wall clock only widens the limit, so it is read only for a row beyond the watermark's limit
        // (or the first one): the common row costs a comparison, not a clock call.
        let beyondWatermark = guardrail.limit(wallClockMs: nil).map { t > $0 } ?? true
        let wall = beyondWatermark ? wallClock?.nowMs() : nil
        if guardrail.admit(t, wallClockMs: wall) { return }
        let limit = guardrail.limit(wallClockMs: wall) ?? .max
        for c in batch.columns.indices { batch.columns[c].removeLast() }
        batch.recount()
        var text: [UInt8] = []
        ByteFormat.appendTimestamp(t, into: &text)
        var limitText: [UInt8] = []
        ByteFormat.appendTimestamp(limit, into: &limitText)
        throw DecodeError(
            "field `\(batch.schema[field].name)`: event time \(String(decoding: text, as: UTF8.self)) is further "
                + "ahead of the watermark than `event_time.max_ahead` allows (the latest plausible now is "
                + "\(String(decoding: limitText, as: UTF8.self)))",
            at: 0)
    }
}

extension RecordDecoders {
    /// `decoder`, guarded when `spec` has an event-time field in `schema` and a `max_ahead` bound.
    public static func guarded(
        _ decoder: any RecordDecoder, schema: Schema, spec: EventTimeSpec?, wallClock: (any StreamClock)?
    ) -> any RecordDecoder {
        guard let spec, let name = spec.field, let index = schema.index(of: name), let maxAhead = spec.maxAheadMs,
            schema[index].type == .timestamp
        else { return decoder }
        return EventTimeGuardedDecoder(
            decoder, field: index, maxAheadMs: maxAhead, maxDisorderMs: spec.maxDisorderMs, wallClock: wallClock)
    }
}
