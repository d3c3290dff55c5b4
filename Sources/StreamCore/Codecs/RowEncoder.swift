/// The row encoder of an output format, for sinks that write JSON lines or CSV.
/// A closed enum rather than a protocol existential so the per-row call is a plain switch.
public enum RowEncoder: Sendable {
    case json(JSONRowEncoder)
    case csv(CSVRowEncoder)

    public init(format: OutputFormat, schema: Schema) {
        switch format {
        case .json: self = .json(JSONRowEncoder(schema: schema))
        case .csv: self = .csv(CSVRowEncoder(schema: schema))
        }
    }

    /// File extension of the format, without the dot.
    public var fileExtension: String {
        switch self {
        case .json: "json"
        case .csv: "csv"
        }
    }

    /// Whether every output (file, stream) starts with a header line.
    public var hasHeader: Bool {
        if case .csv = self { return true }
        return false
    }

    /// Appends what each output starts with: the CSV header line; nothing for JSON lines.
    public func header(into out: inout [UInt8]) {
        if case .csv(let e) = self { e.header(into: &out) }
    }

    /// Appends one row without a line end.
    @inline(__always)
    public func encode(_ batch: Batch, row: Int, into out: inout [UInt8]) {
        switch self {
        case .json(let e): e.encode(batch, row: row, into: &out)
        case .csv(let e): e.encode(batch, row: row, into: &out)
        }
    }

    /// Appends every row of `batch`, each followed by `\n`.
    public func encodeAll(_ batch: Batch, into out: inout [UInt8]) {
        switch self {
        case .json(let e): e.encodeAll(batch, into: &out)
        case .csv(let e): e.encodeAll(batch, into: &out)
        }
    }
}
