#if canImport(Glibc)
    import Glibc
#endif

/// The deterministic orders stream: `order_id int64, shop string, customer string, amount decimal(2),
/// ts timestamp`. Row `i` is a pure function of `(seed, i)`, so the same spec yields the same rows whatever
/// the parallelism; rows of split `s` are those with `i % splits == s`.
public struct GeneratorSource: SourceConnector {
    /// The fields the generator can fill, by name.
    public static let fields: [Field] = [
        Field("order_id", .int64), Field("shop", .string), Field("customer", .string),
        Field("amount", .decimal(scale: 2)), Field("ts", .timestamp),
    ]

    public let spec: GeneratorSpec
    private let shopCDF: [Double]

    public init(spec: GeneratorSpec) {
        self.spec = spec
        self.shopCDF = GeneratorSource.zipfCDF(keys: max(1, spec.keys), exponent: spec.skew)
    }

    public var splitCount: Int { max(1, spec.splits) }
    public var resumable: Bool { true }

    /// Rows in split `split`.
    public func rows(inSplit split: Int) -> Int? {
        guard let rows = spec.rows else { return nil }
        let n = splitCount
        return rows / n + (split < rows % n ? 1 : 0)
    }

    public func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        for f in context.schema.fields {
            guard let known = Self.fields.first(where: { $0.name == f.name }) else {
                throw StreamError(
                    .config,
                    "the generator source has no field `\(f.name)` (it makes: \(Self.fields.map(\.name).joined(separator: ", ")))"
                )
            }
            guard known.type.storage == f.type.storage else {
                throw StreamError(.config, "the generator makes `\(f.name)` as \(known.type), not \(f.type)")
            }
        }
        let splits = Array(stride(from: context.worker, to: splitCount, by: context.workers))
        return GeneratorReader(source: self, context: context, splits: splits)
    }

    /// Row `i`'s values.
    @inline(__always)
    func row(_ i: Int) -> (orderId: Int64, shop: Int, customer: Int, cents: Int64, ts: Int64) {
        let r = splitmix(spec.seed &+ UInt64(i) &* 0x9e37_79b9_7f4a_7c15)
        let u = Double(r >> 11) * 0x1.0p-53
        let shop = shopIndex(u)
        let r2 = splitmix(r)
        let disorder = spec.disorderMs > 0 ? Int64(r2 % UInt64(spec.disorderMs + 1)) : 0
        let ts = spec.startTime + Int64(i) * spec.stepMs - disorder
        return (Int64(i) + 1, shop, Int((r2 >> 20) % 10_000), Int64((r2 >> 40) % 100_000), ts)
    }

    private func shopIndex(_ u: Double) -> Int {
        var lo = 0
        var hi = shopCDF.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if shopCDF[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func zipfCDF(keys: Int, exponent: Double) -> [Double] {
        var weights = (1...keys).map { exponent == 0 ? 1.0 : 1.0 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var acc = 0.0
        for i in weights.indices {
            acc += weights[i] / total
            weights[i] = acc
        }
        weights[keys - 1] = 1.0
        return weights
    }
}

@inline(__always)
func splitmix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9e37_79b9_7f4a_7c15
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

/// Reads the generator splits one worker owns, round-robin, `maxRows` at a time.
final class GeneratorReader: SourceReader {
    let source: GeneratorSource
    let context: SourceContext
    let splits: [Int]
    /// Next local row index per owned split.
    var next: [Int]
    var cursor = 0
    let columnFor: [Int?]
    let startNs: UInt64
    var produced = 0
    /// Pre-rendered key strings.
    let shopNames: [[UInt8]]

    init(source: GeneratorSource, context: SourceContext, splits: [Int]) {
        self.source = source
        self.context = context
        self.splits = splits
        // A restored checkpoint says where each split resumes.
        self.next = splits.map { Int(context.restore[$0] ?? 0) }
        self.columnFor = GeneratorSource.fields.map { context.schema.index(of: $0.name) }
        self.startNs = context.clock.monotonicNs()
        self.shopNames = (0..<max(1, source.spec.keys)).map { Array("shop-\($0)".utf8) }
    }

    func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
        guard !splits.isEmpty else { return SourcePoll(finished: true) }
        var budget = maxRows
        if let rate = source.spec.rate, rate > 0 {
            // Pace this worker at its share of the rate.
            let share = Double(rate) / Double(context.workers)
            let elapsed = Double(context.clock.monotonicNs() &- startNs) / 1e9
            let allowed = Int(share * elapsed) - produced
            if allowed <= 0 {
                usleep(UInt32(min(timeoutMs, 10)) * 1000)
                return SourcePoll(splits: splits.map { SplitProgress(split: $0) })
            }
            budget = min(budget, allowed)
        }
        var progress: [SplitProgress] = []
        var finishedAll = true
        let n = source.splitCount
        for k in 0..<splits.count {
            let idx = (cursor + k) % splits.count
            let split = splits[idx]
            let total = source.rows(inSplit: split) ?? .max
            var maxTs = Int64.min
            let take = min(budget, total - next[idx])
            if take > 0 {
                for local in next[idx]..<(next[idx] + take) {
                    let r = source.row(local * n + split)
                    append(r, to: &batch)
                    maxTs = max(maxTs, r.ts)
                }
                next[idx] += take
                budget -= take
                produced += take
            }
            let done = next[idx] >= total
            if !done { finishedAll = false }
            progress.append(
                SplitProgress(split: split, maxEventTime: take > 0 ? maxTs : nil, atEnd: done, finished: done))
        }
        cursor = (cursor + 1) % splits.count
        return SourcePoll(splits: progress, finished: finishedAll)
    }

    func splitPositions() -> [Int: Int64] {
        var out: [Int: Int64] = [:]
        for (i, split) in splits.enumerated() { out[split] = Int64(next[i]) }
        return out
    }

    @inline(__always)
    private func append(_ r: (orderId: Int64, shop: Int, customer: Int, cents: Int64, ts: Int64), to batch: inout Batch)
    {
        if let c = columnFor[0] { batch.columns[c].int64s.append(r.orderId) }
        if let c = columnFor[1] { shopNames[r.shop].withUnsafeBytes { batch.columns[c].strings.append(bytes: $0) } }
        if let c = columnFor[2] { batch.columns[c].strings.append("cust-\(r.customer)") }
        if let c = columnFor[3] {
            // amount has scale 2 in the generator; rescale to the schema's scale.
            var v = r.cents
            if case .decimal(let scale) = batch.columns[c].type {
                if scale > 2 { for _ in 2..<scale { v *= 10 } } else if scale < 2 { for _ in scale..<2 { v /= 10 } }
            }
            batch.columns[c].int64s.append(v)
        }
        if let c = columnFor[4] { batch.columns[c].int64s.append(r.ts) }
        batch.commitRow()
    }
}
