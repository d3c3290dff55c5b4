import StreamCore

extension FlinkScriptBuilder {
    /// One `name=...` segment of a bucket template: a partition column and the SQL computing its value.
    struct BucketPartition {
        var name: String
        var sql: String
    }

    /// The file sink's bucket template as Flink partition columns: each path segment must be `name=TEXT`,
    /// where TEXT mixes literal text, `{field}` and `{field:%Y-%m-%d}`.
    func bucketPartitions(_ template: String, schema: Schema, at: SourceLocation) -> [BucketPartition] {
        var result: [BucketPartition] = []
        for segment in template.split(separator: "/", omittingEmptySubsequences: false) {
            guard let eq = segment.firstIndex(of: "="), !segment[..<eq].contains("{") else {
                fail(
                    at,
                    "bucket segment `\(segment)` is not `name=value`: Flink partitions directories as "
                        + "`column=value`",
                    help: "write each level as `name={field}`, e.g. `date={window_start:%Y-%m-%d}`")
                continue
            }
            let name = String(segment[..<eq])
            if schema.index(of: name) != nil {
                fail(
                    at,
                    "bucket name `\(name)` is also a field of the rows; Flink partition columns need names of "
                        + "their own", help: "rename the bucket level, e.g. `\(name)_bucket=`")
            }
            guard let parts = bucketValue(segment[segment.index(after: eq)...], schema: schema, at: at) else {
                continue
            }
            let sql = parts.count == 1 ? parts[0] : "CONCAT(\(parts.joined(separator: ", ")))"
            result.append(BucketPartition(name: name, sql: sql))
        }
        return result
    }

    /// The SQL pieces whose concatenation is one segment's value.
    private func bucketValue(_ text: Substring, schema: Schema, at: SourceLocation) -> [String]? {
        var parts: [String] = []
        var rest = text
        while !rest.isEmpty {
            guard let open = rest.firstIndex(of: "{") else {
                parts.append(FlinkSQL.quote(String(rest)))
                break
            }
            if open > rest.startIndex { parts.append(FlinkSQL.quote(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { return nil }
            let inside = rest[rest.index(after: open)..<close]
            let fieldName = String(inside.split(separator: ":", maxSplits: 1).first ?? "")
            let pattern = inside.contains(":") ? String(inside.split(separator: ":", maxSplits: 1)[1]) : nil
            guard let field = schema.field(named: fieldName) else { return nil }
            let column = FlinkSQL.name(fieldName)
            switch (field.type, pattern) {
            case (.timestamp, let p?):
                guard let java = FlinkSQL.javaPattern(p) else {
                    fail(
                        at, "bucket format `\(p)` has a directive the export does not map",
                        help: "use %Y %m %d %H %M %S")
                    return nil
                }
                parts.append(FlinkSQL.dateFormat(column, javaPattern: java))
            case (.timestamp, nil): parts.append(FlinkSQL.dateFormat(column, javaPattern: FlinkSQL.rfc3339Pattern))
            case (.string, _): parts.append(column)
            case (.double, _):
                fail(
                    at, "bucket value `{\(fieldName)}` is a double, which Flink writes as text differently",
                    help: "bucket by a string, integer, decimal or timestamp field")
                return nil
            default: parts.append("CAST(\(column) AS STRING)")
            }
            rest = rest[rest.index(after: close)...]
        }
        return parts
    }
}
