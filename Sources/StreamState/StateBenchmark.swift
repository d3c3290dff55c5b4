import Foundation
import StreamCore

/// Keyed read-modify-write throughput of the RocksDB state, done the way the window operator does it:
/// batches of `batchRows` rows are pre-aggregated in a dictionary, read with one `multiGet` and written
/// back with one write batch. Keys are 24 bytes (`StateKey` layout), values 32 bytes (count, sum, min,
/// max), matching `db_bench --key_size=24 --value_size=32` in bench/state-bench.sh.
public enum StateBenchmark {
    /// What one run measured.
    public struct Result: Sendable, CustomStringConvertible {
        public var keys: Int
        public var updates: Int
        /// Rows written to RocksDB after per-batch pre-aggregation (distinct keys per batch, summed).
        public var rowsWritten: Int
        public var seconds: Double
        public var updatesPerSecond: Double
        public var peakResidentBytes: Int
        public var residentBytes: Int
        public var filesystem: String
        public var memoryPlan: RocksMemoryPlan
        /// `RocksStateBackend.metrics()` at the end of the run.
        public var metrics: [String: Int64]

        /// One line of `name=value` pairs; bench/state-bench.sh reads `updates_per_s`.
        public var description: String {
            func mib(_ bytes: Int64?) -> String { String(format: "%.1f", Double(bytes ?? 0) / 1_048_576) }
            return "state-bench keys=\(keys) updates=\(updates) rows_written=\(rowsWritten) "
                + "seconds=\(String(format: "%.3f", seconds)) updates_per_s=\(Int(updatesPerSecond)) "
                + "peak_rss_mib=\(mib(Int64(peakResidentBytes))) rss_mib=\(mib(Int64(residentBytes))) "
                + "block_cache_capacity_mib=\(mib(metrics["block-cache-capacity"])) "
                + "block_cache_usage_mib=\(mib(metrics["block-cache-usage"])) "
                + "memtables_mib=\(mib(metrics["cur-size-all-mem-tables"])) "
                + "table_readers_mib=\(mib(metrics["estimate-table-readers-mem"])) "
                + "estimate_num_keys=\(metrics["estimate-num-keys"] ?? 0) "
                + "pending_compaction_mib=\(mib(metrics["estimate-pending-compaction-bytes"])) "
                + "jemalloc_allocated_mib=\(mib(metrics["jemalloc-allocated"])) "
                + "jemalloc_resident_mib=\(mib(metrics["jemalloc-resident"])) filesystem=\(filesystem)"
        }
    }

    /// Rows per batch, as the runtime's default batch size.
    public static let batchRows = 4096

    /// Runs `updates` updates over `keys` distinct keys (each key once first, then uniformly random, fixed
    /// seed) against a
    /// `RocksStateBackend` in `spec.dir`, which should be empty: existing state is updated, not replaced.
    public static func run(keys: Int, updates: Int, spec: StateSpec) throws(StreamError) -> Result {
        precondition(keys > 0 && updates >= 0)
        let backend = try RocksStateBackend(spec: spec)
        let table = try backend.table(named: "bench")
        let groups = KeyGroups()
        var random = SplitMix64(seed: 0x5eed)
        var aggregates: [Int: Aggregate] = [:]
        aggregates.reserveCapacity(batchRows)
        var rowsWritten = 0
        var stride: UInt64 = 0x9E37_79B1
        while gcd(stride, UInt64(keys)) != 1 { stride += 2 }

        let clock = ContinuousClock()
        let start = clock.now
        var done = 0
        while done < updates {
            let rows = min(batchRows, updates - done)
            aggregates.removeAll(keepingCapacity: true)
            for row in 0..<rows {
                // The first `keys` updates visit every key once (a permutation, so the state holds `keys`
                // distinct keys as soon as there were that many updates); the rest are uniform.
                let n = done + row
                let id = n < keys ? Int((UInt64(n) &* stride) % UInt64(keys)) : Int(random.next() % UInt64(keys))
                aggregates[id, default: Aggregate()].add(Int64(row))
            }
            let ids = Array(aggregates.keys)
            let encoded = ids.map { id in
                StateKey.encode(
                    keyGroup: groups.keyGroup(hash: KeyHash.hash(Int64(id))), key: keyBytes(id), namespace: 0)
            }
            let stored = try table.multiGet(encoded)
            var batch = StateWriteBatch()
            batch.operations.reserveCapacity(ids.count)
            for i in ids.indices {
                var merged = aggregates[ids[i]]!
                if let old = stored[i] { merged.merge(Aggregate(decoding: old)) }
                batch.put(encoded[i], merged.encoded())
            }
            try table.write(batch)
            rowsWritten += ids.count
            done += rows
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let result = Result(
            keys: keys, updates: updates, rowsWritten: rowsWritten, seconds: seconds,
            updatesPerSecond: seconds > 0 ? Double(updates) / seconds : 0,
            peakResidentBytes: AllocatorProbe.procStatus("VmHWM"), residentBytes: AllocatorProbe.procStatus("VmRSS"),
            filesystem: backend.filesystem, memoryPlan: backend.memoryPlan, metrics: backend.metrics())
        try backend.close()
        return result
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : gcd(b, a % b) }

    /// 14 key bytes: the id big-endian, padded, so that encoded keys are 24 bytes.
    static func keyBytes(_ id: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 14)
        let value = UInt64(truncatingIfNeeded: id)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * i)) }
        return bytes
    }

    /// count, sum, min, max: 32 bytes little-endian.
    struct Aggregate {
        var count: Int64 = 0
        var sum: Int64 = 0
        var min: Int64 = .max
        var max: Int64 = .min

        init() {}

        init(decoding bytes: [UInt8]) {
            guard bytes.count == 32 else { return }
            bytes.withUnsafeBytes { raw in
                count = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int64.self))
                sum = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))
                min = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self))
                max = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: Int64.self))
            }
        }

        mutating func add(_ value: Int64) {
            count += 1
            sum &+= value
            min = Swift.min(min, value)
            max = Swift.max(max, value)
        }

        mutating func merge(_ other: Aggregate) {
            count += other.count
            sum &+= other.sum
            min = Swift.min(min, other.min)
            max = Swift.max(max, other.max)
        }

        func encoded() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: count.littleEndian, toByteOffset: 0, as: Int64.self)
                raw.storeBytes(of: sum.littleEndian, toByteOffset: 8, as: Int64.self)
                raw.storeBytes(of: min.littleEndian, toByteOffset: 16, as: Int64.self)
                raw.storeBytes(of: max.littleEndian, toByteOffset: 24, as: Int64.self)
            }
            return out
        }
    }
}

/// A small, fast, seedable generator so that every run updates the same keys.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
