import Testing

@testable import StreamCore

/// Windowed aggregates over shuffled, out-of-order input must equal a plain loop over the same rows,
/// whatever the parallelism.
@Suite struct WindowCorrectnessTests {
    static let rows = 20_000

    func spec(window: WindowKind, gen: GeneratorSpec, lateness: Int64 = 0) -> PipelineSpec {
        PipelineSpec(
            name: "t", schema: ordersSchema,
            source: SourceSpec(
                kind: .generator(gen), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: gen.disorderMs)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "w",
                    kind: .window(
                        WindowSpec(
                            kind: window,
                            aggregates: [
                                AggregateSpec(name: "orders", function: .count, field: nil),
                                AggregateSpec(name: "revenue", function: .sum, field: "amount"),
                                AggregateSpec(name: "smallest", function: .min, field: "amount"),
                                AggregateSpec(name: "largest", function: .max, field: "amount"),
                                AggregateSpec(name: "first_order", function: .first, field: "order_id"),
                                AggregateSpec(name: "last_order", function: .last, field: "order_id"),
                            ], allowedLatenessMs: lateness))),
            ],
            sink: SinkSpec(kind: .null))
    }

    /// The reference: every generated row, assigned to windows by a plain loop.
    func reference(gen: GeneratorSpec, windows: (Int64) -> [Int64], size: Int64) -> [String] {
        let source = GeneratorSource(spec: gen)
        struct Acc {
            var count = 0; var sum: Int64 = 0; var mn = Int64.max; var mx = Int64.min
            var first: (Int64, Int64) = (.max, 0); var last: (Int64, Int64) = (.min, 0)
        }
        var groups: [String: Acc] = [:]
        for i in 0..<gen.rows! {
            let r = source.row(i)
            for end in windows(r.ts) {
                let k = "shop-\(r.shop)|\(end - size)|\(end)"
                var a = groups[k] ?? Acc()
                a.count += 1; a.sum += r.cents; a.mn = min(a.mn, r.cents); a.mx = max(a.mx, r.cents)
                if r.ts < a.first.0 || (r.ts == a.first.0 && r.orderId < a.first.1) { a.first = (r.ts, r.orderId) }
                if r.ts > a.last.0 || (r.ts == a.last.0 && r.orderId > a.last.1) { a.last = (r.ts, r.orderId) }
                groups[k] = a
            }
        }
        return groups.map { k, a in
            "\(k)|\(a.count)|\(DecimalFormat.string(a.sum, scale: 2))|\(DecimalFormat.string(a.mn, scale: 2))|"
                + "\(DecimalFormat.string(a.mx, scale: 2))|\(a.first.1)|\(a.last.1)"
        }.sorted()
    }

    @Test(arguments: [1, 2, 4])
    func tumblingWindowsEqualAPlainLoop(parallelism: Int) throws {
        let gen = generatorSpec(rows: Self.rows)
        let size: Int64 = 60_000
        let (rows, job) = try runToCompletion(spec(window: .tumbling(sizeMs: size), gen: gen), parallelism: parallelism)
        let expected = reference(gen: gen, windows: { [floorDiv($0, size) * size + size] }, size: size)
        #expect(expected.count > 200)
        #expect(rows.count == expected.count)
        #expect(canonical(rows) == expected)
        #expect(job.snapshot().workers.reduce(0) { $0 + $1.lateRows } == 0)
    }

    @Test(arguments: [1, 2, 4])
    func slidingWindowsEqualAPlainLoop(parallelism: Int) throws {
        let gen = generatorSpec(rows: 8_000)
        let size: Int64 = 60_000
        let slide: Int64 = 20_000
        let (rows, _) = try runToCompletion(
            spec(window: .sliding(sizeMs: size, slideMs: slide), gen: gen), parallelism: parallelism)
        let expected = reference(
            gen: gen,
            windows: { t in
                var ends: [Int64] = []
                var e = floorDiv(t, slide) * slide + slide
                while e - size <= t { ends.append(e); e += slide }
                return ends
            }, size: size)
        #expect(expected.count > 100)
        #expect(canonical(rows) == expected)
    }

    @Test(arguments: [1, 2, 4])
    func sessionWindowsEqualAPlainLoop(parallelism: Int) throws {
        // Few keys, sparse rows: sessions open and close many times per key.
        let gen = GeneratorSpec(seed: 3, rows: 3_000, keys: 5, skew: 0, disorderMs: 1_000, stepMs: 400, splits: 3)
        let gap: Int64 = 5_000
        let s = spec(window: .session(gapMs: gap), gen: gen)
        let (rows, _) = try runToCompletion(s, parallelism: parallelism)
        // Reference: per key, sort by time, split where the distance reaches the gap.
        let source = GeneratorSource(spec: gen)
        var byShop: [Int: [(ts: Int64, id: Int64, cents: Int64)]] = [:]
        for i in 0..<gen.rows! { let r = source.row(i); byShop[r.shop, default: []].append((r.ts, r.orderId, r.cents)) }
        var expected: [String] = []
        for (shop, list) in byShop {
            let sorted = list.sorted { ($0.ts, $0.id) < ($1.ts, $1.id) }
            var group: [(ts: Int64, id: Int64, cents: Int64)] = []
            func close() {
                guard let f = group.first, let l = group.last else { return }
                let sum = group.reduce(0) { $0 + $1.cents }
                expected.append(
                    "shop-\(shop)|\(f.ts)|\(l.ts + gap)|\(group.count)|\(DecimalFormat.string(sum, scale: 2))|"
                        + "\(DecimalFormat.string(group.map(\.cents).min()!, scale: 2))|\(DecimalFormat.string(group.map(\.cents).max()!, scale: 2))|"
                        + "\(f.id)|\(l.id)")
                group = []
            }
            for r in sorted {
                if let l = group.last, r.ts - l.ts > gap { close() }
                group.append(r)
            }
            close()
        }
        #expect(expected.count > 20)
        #expect(canonical(rows) == expected.sorted())
    }

    @Test func rowsBehindTheWatermarkAreCountedAsLateAndDropped() throws {
        // Split 0 runs far ahead; a late batch for an old window arrives after its watermark passed.
        let schema = Schema([Field("shop", .string), Field("ts", .timestamp)])
        func batch(_ rows: [(String, Int64)]) -> Batch {
            Batch(
                schema: schema,
                columns: [Column(strings: rows.map(\.0)), Column(int64s: rows.map(\.1), type: .timestamp)])
        }
        let source = ScriptedSource(splits: [
            [
                batch([("a", 1_000), ("b", 2_000)]),
                batch([("a", 130_000)]),  // watermark moves to 129_000: window [0, 60_000) fires
                batch([("a", 5_000)]),  // late for the fired window
                batch([("a", 131_000)]),
            ]
        ])
        let spec = PipelineSpec(
            name: "late", schema: schema,
            source: SourceSpec(
                kind: .file(FileSourceSpec(paths: [])), eventTime: EventTimeSpec(field: "ts", maxDisorderMs: 1_000)),
            operators: [
                OperatorSpec(id: "key", kind: .keyBy(["shop"])),
                OperatorSpec(
                    id: "w",
                    kind: .window(
                        WindowSpec(
                            kind: .tumbling(sizeMs: 60_000),
                            aggregates: [
                                AggregateSpec(name: "n", function: .count, field: nil)
                            ]))),
            ],
            sink: SinkSpec(kind: .null))
        let (rows, job) = try runToCompletion(spec, parallelism: 1, source: source)
        #expect(canonical(rows) == ["a|0|60000|1", "a|120000|180000|2", "b|0|60000|1"])
        #expect(job.snapshot().workers.first { $0.stage == "w" }!.lateRows == 1)
    }
}
