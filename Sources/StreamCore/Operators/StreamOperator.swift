/// Rows an operator call produced, sent downstream by the worker after the call returns.
public struct Output {
    public private(set) var batches: [Batch] = []
    public init() {}
    public mutating func emit(_ batch: Batch) {
        if !batch.isEmpty { batches.append(batch) }
    }
    mutating func take() -> [Batch] {
        defer { batches.removeAll(keepingCapacity: true) }
        return batches
    }
}

/// One instance per worker thread of an operator. `process` is the one required method; the hooks default
/// to doing nothing (stateless operators).
public protocol StreamOperator: AnyObject {
    /// The schema of rows this operator emits.
    var outputSchema: Schema { get }
    func process(_ batch: Batch, into out: inout Output) throws(StreamError)
    /// Event time advanced to `watermark` on every input: fire what is due.
    func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError)
    /// Every input ended: emit what is left (open windows fire).
    func finish(into out: inout Output) throws(StreamError)
    /// A checkpoint barrier passed: make state durable up to here.
    func onBarrier(_ barrier: Barrier, into out: inout Output) throws(StreamError)
    /// Figures for the metrics snapshot.
    func metrics() -> [String: Int64]
    /// Rows dropped as late since the last call.
    func takeLateRows() -> Int64
    /// Takes over key groups `keyGroups` at a rescale barrier: no state moves (key groups prefix every state
    /// key). `watermark` is the stage's event time at the barrier; a new worker has not seen it yet.
    func reassign(keyGroups: Range<Int>, watermark: Int64) throws(StreamError)
}

extension StreamOperator {
    public func onWatermark(_ watermark: Int64, into out: inout Output) throws(StreamError) {}
    public func finish(into out: inout Output) throws(StreamError) {}
    public func onBarrier(_ barrier: Barrier, into out: inout Output) throws(StreamError) {}
    public func metrics() -> [String: Int64] { [:] }
    public func takeLateRows() -> Int64 { 0 }
    /// Stateless operators own no key groups.
    public func reassign(keyGroups: Range<Int>, watermark: Int64) throws(StreamError) {}
}

/// An operator with keyed state: a worker owns a contiguous range of key groups and can be handed another
/// at a barrier (a parallelism change). State stays where it is (key groups prefix every key); the
/// operator keeps its watermark and finds the timers and bookkeeping of the new range in state.
public protocol KeyedStreamOperator: StreamOperator {}

extension KeyedStreamOperator {
    /// Takes over `keyGroups` keeping the operator's own watermark.
    public func reassign(keyGroups: Range<Int>) throws(StreamError) { try reassign(keyGroups: keyGroups, watermark: .min) }
}

/// Keeps rows where the predicate is true. Stateless.
public final class FilterOperator: StreamOperator {
    let predicate: CompiledExpression
    public let outputSchema: Schema

    public init(predicate: CompiledExpression, schema: Schema) {
        self.predicate = predicate
        self.outputSchema = schema
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        out.emit(batch.selecting(try predicate.mask(batch)))
    }
}

/// Computes the output columns from input columns and expressions. Stateless.
public final class MapOperator: StreamOperator {
    public enum Source: Sendable {
        case column(Int)
        case expression(CompiledExpression)
    }
    let sources: [Source]
    public let outputSchema: Schema

    public init(outputSchema: Schema, sources: [Source]) {
        precondition(outputSchema.count == sources.count)
        self.outputSchema = outputSchema
        self.sources = sources
    }

    public func process(_ batch: Batch, into out: inout Output) throws(StreamError) {
        var columns: [Column] = []
        columns.reserveCapacity(sources.count)
        for (i, source) in sources.enumerated() {
            switch source {
            case .column(let c): columns.append(batch.columns[c])
            case .expression(let e):
                var col = try e.evaluate(batch)
                if col.type != outputSchema[i].type { col = ColumnCast.cast(col, to: outputSchema[i].type) }
                columns.append(col)
            }
        }
        out.emit(Batch(schema: outputSchema, columns: columns))
    }
}

/// Re-tags a column whose storage already fits (e.g. an int64 expression into a timestamp field).
enum ColumnCast {
    static func cast(_ c: Column, to type: FieldType) -> Column {
        var out = Column(type: type)
        switch (c.type.storage, type.storage) {
        case (.int64, .int64): out.int64s = c.int64s
        case (.int64, .double): out.doubles = c.int64s.map { Double($0) }
        case (.double, .double): out.doubles = c.doubles
        case (.bool, .bool): out.bools = c.bools
        case (.string, .string): out.strings = c.strings
        default: preconditionFailure("no cast from \(c.type) to \(type)")
        }
        out.validity = c.validity
        return out
    }
}
