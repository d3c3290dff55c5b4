/// The type of one schema field. Values are stored unboxed in columns:
/// `int64`, `timestamp` (epoch milliseconds, UTC) and `decimal` (scaled integer) share `Int64` storage.
public enum FieldType: Sendable, Hashable, CustomStringConvertible {
    case int64
    case double
    case bool
    case string
    case timestamp
    /// A fixed-point number stored as `value * 10^scale` in an `Int64`.
    case decimal(scale: Int)

    /// The names accepted in a pipeline file (`decimal` alone means scale 2; `decimal(4)` sets it).
    public static let allNames = ["int64", "double", "bool", "string", "timestamp", "decimal"]

    public var description: String {
        switch self {
        case .int64: "int64"
        case .double: "double"
        case .bool: "bool"
        case .string: "string"
        case .timestamp: "timestamp"
        case .decimal(let scale): scale == 2 ? "decimal" : "decimal(\(scale))"
        }
    }

    /// Parses `int64`, `double`, `bool`, `string`, `timestamp`, `decimal`, `decimal(N)`; nil otherwise.
    public init?(name: String) {
        switch name {
        case "int64", "long", "int": self = .int64
        case "double", "float64": self = .double
        case "bool", "boolean": self = .bool
        case "string": self = .string
        case "timestamp": self = .timestamp
        case "decimal": self = .decimal(scale: 2)
        default:
            guard name.hasPrefix("decimal("), name.hasSuffix(")"),
                let scale = Int(name.dropFirst(8).dropLast()), (0...18).contains(scale)
            else { return nil }
            self = .decimal(scale: scale)
        }
    }

    /// Which column array holds values of this type.
    public var storage: ColumnStorage {
        switch self {
        case .int64, .timestamp, .decimal: .int64
        case .double: .double
        case .bool: .bool
        case .string: .string
        }
    }

    public var isNumeric: Bool {
        switch self {
        case .int64, .double, .decimal: true
        default: false
        }
    }
}

/// The physical array a column keeps its values in.
public enum ColumnStorage: Sendable, Hashable {
    case int64, double, bool, string
}

/// One named, typed field of a schema.
public struct Field: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    /// A nullable field may be absent or `null` in input; a required one makes such a row a bad record.
    public var nullable: Bool
    /// What a number in a timestamp field counts (epoch milliseconds unless declared); RFC 3339 text is unaffected.
    public var timeUnit: TimestampUnit = .milliseconds
    /// A decimal field: a value with more fractional digits than the scale is a bad record instead of
    /// being rounded half-to-even.
    public var strictDecimal = false

    public init(_ name: String, _ type: FieldType, nullable: Bool = false) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// The unit of epoch numbers in a timestamp field's input; values are kept as epoch milliseconds.
public enum TimestampUnit: String, Sendable, Hashable, CaseIterable {
    case seconds = "s"
    case milliseconds = "ms"
    case microseconds = "us"
    case nanoseconds = "ns"

    /// `value` in this unit as epoch milliseconds (sub-millisecond parts floored), or nil on overflow.
    @inline(__always)
    public func toMillis(_ value: Int64) -> Int64? {
        switch self {
        case .milliseconds: return value
        case .seconds:
            let (ms, overflow) = value.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : ms
        case .microseconds: return Self.floorDiv(value, 1000)
        case .nanoseconds: return Self.floorDiv(value, 1_000_000)
        }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return a % b < 0 ? q - 1 : q
    }
}

/// An ordered list of fields. Field lookup by name is precomputed once.
public struct Schema: Sendable, Hashable {
    public let fields: [Field]
    private let indexByName: [String: Int]

    public init(_ fields: [Field]) {
        self.fields = fields
        var index: [String: Int] = [:]
        for (i, field) in fields.enumerated() where index[field.name] == nil { index[field.name] = i }
        self.indexByName = index
    }

    public var count: Int { fields.count }

    public func index(of name: String) -> Int? { indexByName[name] }

    public func field(named name: String) -> Field? { indexByName[name].map { fields[$0] } }

    public subscript(_ i: Int) -> Field { fields[i] }

    public static func == (lhs: Schema, rhs: Schema) -> Bool { lhs.fields == rhs.fields }
    public func hash(into hasher: inout Hasher) { hasher.combine(fields) }
}
