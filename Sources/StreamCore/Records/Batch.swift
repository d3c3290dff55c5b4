/// A batch of rows in columnar form: one typed column per schema field.
/// Batches are values: handing one to another thread hands over its arrays (copy-on-write, no copy).
public struct Batch: Sendable, Equatable {
    public var schema: Schema
    public var columns: [Column]
    public private(set) var count: Int

    public init(schema: Schema, columns: [Column]) {
        precondition(columns.count == schema.count, "one column per field")
        let n = columns.first?.count ?? 0
        precondition(columns.allSatisfy { $0.count == n }, "columns of unequal length")
        self.schema = schema
        self.columns = columns
        self.count = n
    }

    /// An empty batch with capacity reserved for `capacity` rows.
    public init(schema: Schema, capacity: Int = 0) {
        self.schema = schema
        self.columns = schema.fields.map { f in
            var c = Column(type: f.type)
            if capacity > 0 { c.reserve(capacity) }
            return c
        }
        self.count = 0
    }

    public var isEmpty: Bool { count == 0 }

    public func column(_ name: String) -> Column? { schema.index(of: name).map { columns[$0] } }

    /// Call after appending one value to every column (decoders, builders).
    @inline(__always)
    public mutating func commitRow() { count += 1 }

    /// Re-reads the row count from the columns after bulk edits.
    public mutating func recount() {
        count = columns.first?.count ?? 0
        assert(columns.allSatisfy { $0.count == count })
    }

    /// Drops a partially appended row: every column longer than `count` loses its last value.
    public mutating func rollbackPartialRow() {
        for i in columns.indices where columns[i].count > count { columns[i].removeLast() }
    }

    /// The rows at `indices`, in that order.
    public func gather(_ indices: [Int]) -> Batch {
        Batch(schema: schema, columns: columns.map { $0.gather(indices) })
    }

    /// The rows where `mask` is true.
    public func selecting(_ mask: [Bool]) -> Batch {
        precondition(mask.count == count)
        var indices: [Int] = []
        indices.reserveCapacity(count)
        for i in 0..<count where mask[i] { indices.append(i) }
        if indices.count == count { return self }
        return gather(indices)
    }

    /// Appends every row of `other`, which must have the same schema.
    public mutating func append(contentsOf other: Batch) {
        precondition(other.schema == schema, "schema mismatch")
        for i in columns.indices { columns[i].append(contentsOf: other.columns[i]) }
        count += other.count
    }

    /// Removes all rows, keeping capacity.
    public mutating func removeAll() {
        self = Batch(schema: schema, columns: schema.fields.map { Column(type: $0.type) })
    }
}
