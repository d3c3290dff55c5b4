import Foundation
import StreamCore
import StreamSinks
import Testing

@Suite struct FileSinkTests {
    let fields = [Field("ts", .timestamp), Field("shop", .string), Field("amount", .decimal(scale: 2))]
    // 2026-11-27T10:00:00Z
    let tenOClock: Int64 = 1_795_773_600_000

    func context(maxOpen: Int = 64, clock: any StreamClock = ManualClock(), worker: Int = 0) -> SinkContext {
        SinkContext(
            worker: worker, workers: 1, schema: Schema(fields), profile: Profile(name: "p", sinkMaxOpen: maxOpen),
            clock: clock)
    }

    func orders(_ n: Int, shops: [String], hourEvery: Int = 1_000_000, from first: Int = 0) -> Batch {
        makeBatch(
            fields,
            (first..<(first + n)).map { i in
                [
                    .timestamp(tenOClock + Int64(i / hourEvery) * 3_600_000 + Int64(i)),
                    .string(shops[i % shops.count]),
                    .decimal(Int64(i * 7), scale: 2),
                ]
            })
    }

    /// Lines of every committed part file below `dir` + `/` + `bucket`, files in write order.
    func lines(_ dir: TempDir, under bucket: String = "") -> [String] {
        dir.files().filter { bucket.isEmpty || $0.hasPrefix(bucket + "/") }
            .sorted { partSequence($0) < partSequence($1) }
            .flatMap { dir.read($0).split(separator: "\n").map(String.init) }
    }

    @Test func writesRowsIntoHiveBucketDirectories() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let spec = FileSinkSpec(path: dir.path + "/out", bucket: "date={ts:%Y-%m-%d}/hour={ts:%H}/shop={shop}")
        let writer = try FileSinkConnector(spec: spec).openWriter(context())
        let first = orders(40, shops: ["acme", "globex"], hourEvery: 20)
        let second = orders(40, shops: ["acme", "globex"], hourEvery: 20, from: 40)
        try writer.write(first)
        try writer.write(second)
        #expect(writer.metrics()["open_buckets"] == 8)
        try writer.close()

        let files = dir.files()
        #expect(files.count == 8)
        #expect(files.contains("out/date=2026-11-27/hour=10/shop=acme/part-0-0.json"))
        #expect(files.contains("out/date=2026-11-27/hour=13/shop=globex/part-0-7.json"))
        #expect(!files.contains { $0.contains("inprogress") })
        for hour in 10...13 {
            for shop in ["acme", "globex"] {
                let bucket = "out/date=2026-11-27/hour=\(hour)/shop=\(shop)"
                var expected: [String] = []
                for b in [first, second] {
                    for row in 0..<b.count
                    where b.columns[1].strings.string(at: row) == shop
                        && (b.columns[0].int64s[row] - tenOClock) / 3_600_000 == hour - 10
                    {
                        expected.append(jsonLine(b, row))
                    }
                }
                #expect(expected.count == 10)
                #expect(lines(dir, under: bucket) == expected)
            }
        }
        let m = writer.metrics()
        #expect(m["rows_written"] == 80)
        #expect(m["files_committed"] == 8)
        #expect(m["open_buckets"] == 0)
        let sizes = try files.map {
            try FileManager.default.attributesOfItem(atPath: dir.path + "/" + $0)[.size] as! Int
        }
        #expect(m["bytes_written"] == Int64(sizes.reduce(0, +)))
    }

    @Test func rollsAtTheSizeLimitWithoutLosingOrSplittingRows() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let spec = FileSinkSpec(path: dir.path, rollSizeBytes: 1_000)
        let writer = try FileSinkConnector(spec: spec, options: FileSinkOptions(bufferBytes: 256)).openWriter(context())
        let batches = (0..<5).map { orders(60, shops: ["s"], from: $0 * 60) }
        for b in batches { try writer.write(b) }
        try writer.close()

        let files = dir.files()
        #expect(files.count > 5)
        #expect(files.allSatisfy { $0.hasPrefix("part-0-") && $0.hasSuffix(".json") })
        let expected = batches.flatMap { b in (0..<b.count).map { jsonLine(b, $0) } }
        #expect(lines(dir) == expected)
        let longest = expected.map { $0.utf8.count + 1 }.max()!
        let ordered = files.sorted { partSequence($0) < partSequence($1) }
        for (i, file) in ordered.enumerated() {
            let content = dir.read(file)
            #expect(content.hasSuffix("\n"))
            if i < ordered.count - 1 {
                #expect(content.utf8.count >= 1_000 && content.utf8.count < 1_000 + longest)
            }
        }
        #expect(writer.metrics()["files_committed"] == Int64(files.count))
    }

    @Test func closesTheLeastRecentlyUsedBucketBeyondMaxOpen() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let writer = try FileSinkConnector(spec: FileSinkSpec(path: dir.path, bucket: "shop={shop}"))
            .openWriter(context(maxOpen: 2))
        let a = orders(3, shops: ["a"])
        try writer.write(a)
        try writer.write(orders(3, shops: ["b"]))
        try writer.write(orders(3, shops: ["a"], from: 3))  // a is now more recent than b
        try writer.write(orders(3, shops: ["c"]))  // evicts b
        #expect(writer.metrics()["open_buckets"] == 2)
        #expect(dir.files().contains("shop=b/part-0-1.json"))
        #expect(dir.files().contains("shop=a/.part-0-0.json.inprogress"))
        try writer.write(orders(3, shops: ["b"], from: 3))  // evicts a, reopens b in a new part
        #expect(dir.files().contains("shop=a/part-0-0.json"))
        #expect(writer.metrics()["open_buckets"] == 2)
        try writer.close()
        #expect(
            dir.files() == [
                "shop=a/part-0-0.json", "shop=b/part-0-1.json", "shop=b/part-0-3.json", "shop=c/part-0-2.json",
            ])
        #expect(lines(dir, under: "shop=a").count == 6)
        #expect(lines(dir, under: "shop=b").count == 6)
        #expect(writer.metrics()["files_committed"] == 4)
    }

    @Test func inProgressPartsAreHiddenUntilCommitted() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let writer = try FileSinkConnector(spec: FileSinkSpec(path: dir.path)).openWriter(context())
        try writer.write(orders(5, shops: ["a"]))
        try writer.flush()
        #expect(dir.files() == [".part-0-0.json.inprogress"])
        #expect(dir.read(".part-0-0.json.inprogress").split(separator: "\n").count == 5)
        try writer.close()
        #expect(dir.files() == ["part-0-0.json"])
    }

    @Test func rollsIdleAndOldPartsByTheClock() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock()
        let options = FileSinkOptions(rolloverMs: 10_000, inactivityMs: 3_000)
        let writer = try FileSinkConnector(spec: FileSinkSpec(path: dir.path, bucket: "shop={shop}"), options: options)
            .openWriter(context(clock: clock))
        try writer.write(orders(2, shops: ["a"]))
        clock.advance(ms: 2_000)
        try writer.write(orders(2, shops: ["b"]))
        clock.advance(ms: 1_500)
        try writer.flush()  // a idle for 3.5 s, b for 1.5 s
        #expect(dir.files() == ["shop=a/part-0-0.json", "shop=b/.part-0-1.json.inprogress"])
        for _ in 0..<6 {
            clock.advance(ms: 2_000)
            try writer.write(orders(1, shops: ["b"]))
        }
        // b opened at 2 s and kept busy: it rolls by age once it is 10 s old.
        #expect(dir.files().contains("shop=b/part-0-1.json"))
        try writer.close()
        #expect(!dir.files().contains { $0.contains("inprogress") })
        #expect(lines(dir, under: "shop=b").count == 8)
    }

    @Test func csvPartsEachStartWithAHeader() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let spec = FileSinkSpec(path: dir.path, format: .csv, rollSizeBytes: 200)
        let writer = try FileSinkConnector(spec: spec).openWriter(context())
        try writer.write(orders(20, shops: ["x,y"]))
        try writer.close()
        let files = dir.files().sorted { partSequence($0) < partSequence($1) }
        #expect(files.count > 1)
        #expect(files.allSatisfy { $0.hasSuffix(".csv") && dir.read($0).hasPrefix("ts,shop,amount\n") })
        let rows = files.flatMap { dir.read($0).split(separator: "\n").dropFirst() }
        #expect(rows.count == 20)
        #expect(rows.first == "2026-11-27T10:00:00.000Z,\"x,y\",0.00")
    }

    @Test func aRestartedWriterDoesNotOverwriteEarlierParts() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        for run in 0..<2 {
            let writer = try FileSinkConnector(spec: FileSinkSpec(path: dir.path)).openWriter(context())
            try writer.write(orders(3, shops: ["a"], from: run * 3))
            try writer.close()
        }
        #expect(dir.files() == ["part-0-0.json", "part-0-1.json"])
        #expect(lines(dir).count == 6)
    }

    @Test func badBucketTemplateIsAConfigErrorWithItsOffset() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        do {
            _ = try FileSinkConnector(spec: FileSinkSpec(path: dir.path, bucket: "shop={shopp}")).openWriter(context())
            Issue.record("opened a writer with an unknown bucket field")
        } catch {
            #expect(error.kind == .config)
            #expect(error.message.contains("offset 6"))
            #expect(error.message.contains("unknown field `shopp`"))
        }
    }
}
