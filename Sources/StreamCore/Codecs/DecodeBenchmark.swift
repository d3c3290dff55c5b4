#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Measures JSON decoding of orders-like records on one core, in memory.
public enum DecodeBenchmark {
    /// The schema of the generated records.
    public static let schema = Schema([
        Field("order_id", .int64), Field("shop", .string), Field("customer", .string),
        Field("amount", .decimal(scale: 2)), Field("ts", .timestamp),
    ])

    /// Generates `rows` JSON lines, decodes them in batches of 4096 and returns the rates.
    public static func run(rows: Int) -> (rowsPerSecond: Double, bytesPerSecond: Double) {
        let (buffer, ends) = generate(rows: rows)
        var decoder = JSONRecordDecoder(schema: schema)
        var batch = Batch(schema: schema, capacity: 4096)
        var decoded = 0
        let start = monotonicSeconds()
        buffer.withUnsafeBytes { raw in
            var begin = 0
            for end in ends {
                do throws(DecodeError) {
                    try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[begin..<end]), into: &batch)
                } catch {
                    preconditionFailure("generated record did not decode: \(error)")
                }
                begin = end
                if batch.count == 4096 {
                    decoded += batch.count
                    batch.removeAll()
                }
            }
        }
        decoded += batch.count
        let seconds = max(monotonicSeconds() - start, 1e-9)
        precondition(decoded == rows)
        return (Double(rows) / seconds, Double(buffer.count) / seconds)
    }

    /// All records in one buffer, with the end offset of each.
    static func generate(rows: Int) -> ([UInt8], [Int]) {
        let shops = ["north", "south", "east-side", "west", "zürich", "online"]
        var buffer: [UInt8] = []
        buffer.reserveCapacity(rows * 140)
        var ends: [Int] = []
        ends.reserveCapacity(rows)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        let base: Int64 = 1_795_737_600_000  // 2026-11-27T00:00:00Z
        for i in 0..<rows {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = Int64(truncatingIfNeeded: seed >> 33)
            let cents = r % 100_000
            let ts = CivilTime.rfc3339(base + Int64(i) * 37 + r % 1000)
            let line =
                #"{"order_id":\#(1_000_000 + i),"shop":"\#(shops[Int(r % 6)])","customer":"c-\#(r % 50_000)","#
                + #""amount":\#(cents / 100).\#(CivilTime.pad(cents % 100, 2)),"ts":"\#(ts)"}"#
            buffer.append(contentsOf: line.utf8)
            ends.append(buffer.count)
        }
        return (buffer, ends)
    }

    static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
