import StreamCore
import Testing

@Suite struct BucketTemplateTests {
    let schema = Schema([
        Field("window_start", .timestamp, nullable: true), Field("shop", .string, nullable: true),
        Field("n", .int64), Field("price", .decimal(scale: 2)), Field("flag", .bool),
    ])

    func rows(_ values: [[Value]]) -> Batch {
        var b = Batch(schema: schema)
        for row in values {
            for (i, v) in row.enumerated() { b.columns[i].append(v) }
            b.commitRow()
        }
        return b
    }

    // 2026-11-27T10:00:00Z
    let tenOClock: Int64 = 1_795_773_600_000

    @Test func formatsTimestampsAndPlainFields() throws {
        var t = try BucketTemplate("date={window_start:%Y-%m-%d}/hour={window_start:%H}/shop={shop}", schema: schema)
        let b = rows([[.timestamp(tenOClock + 61_000), .string("acme"), .int64(1), .decimal(5, scale: 2), .bool(true)]])
        #expect(t.bucket(b, row: 0) == "date=2026-11-27/hour=10/shop=acme")
        var u = try BucketTemplate("{window_start:%H%M%S_100%%}/n={n}/p={price}/f={flag}", schema: schema)
        #expect(u.bucket(b, row: 0) == "100101_100%/n=1/p=0.05/f=true")
    }

    @Test func timestampWithoutFormatIsEscapedRFC3339() throws {
        var t = try BucketTemplate("ts={window_start}", schema: schema)
        let b = rows([[.timestamp(0), .string("x"), .int64(1), .decimal(0, scale: 2), .bool(false)]])
        #expect(t.bucket(b, row: 0) == "ts=1970-01-01T00%3A00%3A00.000Z")
    }

    @Test func escapesUnsafePathCharactersHiveStyle() throws {
        var t = try BucketTemplate("shop={shop}", schema: schema)
        let b = rows([
            [.null, .string("a/b:c=d"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string(".."), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string(".hidden"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .null, .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string(""), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string("café 50%"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string("a\nb"), .int64(0), .decimal(0, scale: 2), .bool(false)],
        ])
        let buckets = (0..<b.count).map { t.bucket(b, row: $0) }
        #expect(
            buckets == [
                "shop=a%2Fb%3Ac%3Dd", "shop=%2E.", "shop=%2Ehidden", "shop=__HIVE_DEFAULT_PARTITION__",
                "shop=__HIVE_DEFAULT_PARTITION__", "shop=café 50%25", "shop=a%0Ab",
            ])
    }

    @Test func consecutiveRowsGetTheirOwnBucketsDespiteTheCache() throws {
        var t = try BucketTemplate("h={window_start:%H}/shop={shop}", schema: schema)
        let b = rows([
            [.timestamp(tenOClock), .string("ab"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock + 59 * 60_000), .string("ab"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock + 59 * 60_000), .string("ac"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock + 3_600_000), .string("ac"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.null, .string("ac"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock - 1), .null, .int64(0), .decimal(0, scale: 2), .bool(false)],
        ])
        let buckets = (0..<b.count).map { t.bucket(b, row: $0) }
        #expect(
            buckets == [
                "h=10/shop=ab", "h=10/shop=ab", "h=10/shop=ac", "h=11/shop=ac", "h=__HIVE_DEFAULT_PARTITION__/shop=ac",
                "h=09/shop=__HIVE_DEFAULT_PARTITION__",
            ])
    }

    @Test func bucketHashIsStableAndFollowsTheBucket() throws {
        var t = try BucketTemplate("h={window_start:%H}/shop={shop}", schema: schema)
        let b = rows([
            [.timestamp(tenOClock), .string("ab"), .int64(0), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock + 1_000), .string("ab"), .int64(1), .decimal(0, scale: 2), .bool(false)],
            [.timestamp(tenOClock), .string("zz"), .int64(0), .decimal(0, scale: 2), .bool(false)],
        ])
        let hashes = (0..<3).map { t.bucketHash(b, row: $0) }
        #expect(hashes[0] == hashes[1])
        #expect(hashes[0] != hashes[2])
        let expected = Array("h=10/shop=ab".utf8).withUnsafeBytes { KeyHash.hash($0) }
        #expect(hashes[0] == expected)
        var fresh = try BucketTemplate("h={window_start:%H}/shop={shop}", schema: schema)
        #expect(fresh.bucketHash(b, row: 2) == hashes[2])
    }

    func error(_ template: String) -> ExpressionError? {
        do {
            _ = try BucketTemplate(template, schema: schema)
            return nil
        } catch {
            return error
        }
    }

    @Test func reportsErrorsWithTheirOffset() {
        #expect(error("date={day}")?.offset == 6)
        #expect(error("date={day}")?.message.contains("unknown field `day`") == true)
        #expect(error("a={shop}/b={window_start")?.offset == 11)
        #expect(error("a={shop}/b={window_start")?.message.contains("unclosed") == true)
        #expect(error("d={window_start:%Y-%q}")?.offset == 19)
        #expect(error("d={window_start:%Y-%q}")?.message.contains("%q") == true)
        #expect(error("s={shop:%Y}")?.offset == 7)
        #expect(error("s=shop}")?.offset == 6)
        #expect(error("/abs/{shop}")?.offset == 0)
        #expect(error("x/../{shop}") != nil)
        #expect(error("d={window_start:}") != nil)
        #expect(error("s={}")?.offset == 2)
    }
}
