/// Variable-length strings of one column: row `i` is `bytes[offsets[i]..<offsets[i+1]]` (UTF-8).
public struct StringColumn: Sendable, Equatable {
    public var offsets: [UInt32]
    public var bytes: [UInt8]

    public init() {
        offsets = [0]
        bytes = []
    }

    public init(_ values: [String]) {
        self.init()
        for v in values { append(v) }
    }

    public var count: Int { offsets.count - 1 }

    @inline(__always)
    public mutating func append(_ value: String) {
        var v = value
        v.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    public mutating func append(bytes raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
        offsets.append(UInt32(bytes.count))
    }

    @inline(__always)
    public mutating func appendEmpty() { offsets.append(UInt32(bytes.count)) }

    public func range(_ i: Int) -> Range<Int> { Int(offsets[i])..<Int(offsets[i + 1]) }

    public func string(at i: Int) -> String { String(decoding: bytes[range(i)], as: UTF8.self) }

    /// Calls `body` with the row's bytes without copying them.
    @inline(__always)
    public func withBytes<R>(at i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = range(i)
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[r])) }
    }

    public mutating func reserve(rows: Int, bytes byteCount: Int) {
        offsets.reserveCapacity(rows + 1)
        bytes.reserveCapacity(byteCount)
    }
}

/// One typed column of a batch. Only the array matching `type.storage` holds values; the others stay empty.
/// `validity == nil` means every row is valid (not null).
public struct Column: Sendable, Equatable {
    public let type: FieldType
    public var int64s: [Int64] = []
    public var doubles: [Double] = []
    public var bools: [Bool] = []
    public var strings: StringColumn = StringColumn()
    public var validity: [Bool]? = nil

    public init(type: FieldType) { self.type = type }

    public init(int64s: [Int64], type: FieldType = .int64) {
        self.type = type
        self.int64s = int64s
    }

    public init(doubles: [Double]) {
        self.type = .double
        self.doubles = doubles
    }

    public init(bools: [Bool]) {
        self.type = .bool
        self.bools = bools
    }

    public init(strings: [String]) {
        self.type = .string
        self.strings = StringColumn(strings)
    }

    public var count: Int {
        switch type.storage {
        case .int64: int64s.count
        case .double: doubles.count
        case .bool: bools.count
        case .string: strings.count
        }
    }

    @inline(__always)
    public func isValid(_ i: Int) -> Bool { validity?[i] ?? true }

    public mutating func reserve(_ rows: Int) {
        switch type.storage {
        case .int64: int64s.reserveCapacity(rows)
        case .double: doubles.reserveCapacity(rows)
        case .bool: bools.reserveCapacity(rows)
        case .string: strings.reserve(rows: rows, bytes: rows * 16)
        }
    }

    /// Appends a null: a zero value plus a cleared validity bit.
    public mutating func appendNull() {
        if validity == nil { validity = Array(repeating: true, count: count) }
        switch type.storage {
        case .int64: int64s.append(0)
        case .double: doubles.append(0)
        case .bool: bools.append(false)
        case .string: strings.appendEmpty()
        }
        validity!.append(false)
    }

    /// Marks the last appended row valid when a validity array exists (call after a typed append).
    @inline(__always)
    public mutating func markLastValid() {
        if validity != nil { validity!.append(true) }
    }

    /// Removes the last row (used by decoders to roll back a partially decoded bad record).
    public mutating func removeLast() {
        switch type.storage {
        case .int64: int64s.removeLast()
        case .double: doubles.removeLast()
        case .bool: bools.removeLast()
        case .string:
            strings.offsets.removeLast()
            strings.bytes.removeSubrange(Int(strings.offsets.last!)...)
        }
        if validity != nil { validity!.removeLast() }
    }

    /// A new column with the rows at `indices`, in that order.
    public func gather(_ indices: [Int]) -> Column {
        var out = Column(type: type)
        switch type.storage {
        case .int64: out.int64s = indices.map { int64s[$0] }
        case .double: out.doubles = indices.map { doubles[$0] }
        case .bool: out.bools = indices.map { bools[$0] }
        case .string:
            out.strings.reserve(rows: indices.count, bytes: indices.count * 16)
            strings.bytes.withUnsafeBytes { raw in
                for i in indices {
                    out.strings.append(bytes: UnsafeRawBufferPointer(rebasing: raw[strings.range(i)]))
                }
            }
        }
        if let validity { out.validity = indices.map { validity[$0] } }
        return out
    }

    /// Appends all rows of `other` (same type).
    public mutating func append(contentsOf other: Column) {
        precondition(other.type.storage == type.storage, "column type mismatch")
        let before = count
        switch type.storage {
        case .int64: int64s.append(contentsOf: other.int64s)
        case .double: doubles.append(contentsOf: other.doubles)
        case .bool: bools.append(contentsOf: other.bools)
        case .string:
            let base = UInt32(strings.bytes.count)
            strings.bytes.append(contentsOf: other.strings.bytes)
            strings.offsets.append(contentsOf: other.strings.offsets.dropFirst().lazy.map { $0 + base })
        }
        if validity != nil || other.validity != nil {
            if validity == nil { validity = Array(repeating: true, count: before) }
            validity!.append(contentsOf: other.validity ?? Array(repeating: true, count: other.count))
        }
    }
}
