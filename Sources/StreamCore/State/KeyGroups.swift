/// Key groups: the unit of keyed-state ownership. `keyGroup = hash(key) % maxParallelism`, fixed for the
/// life of the job's state; worker `w` of `p` owns a contiguous range, so changing parallelism only moves
/// range boundaries, never state.
public struct KeyGroups: Sendable, Hashable {
    public static let defaultMaxParallelism = 128
    public let maxParallelism: Int

    public init(maxParallelism: Int = KeyGroups.defaultMaxParallelism) {
        precondition(maxParallelism > 0 && maxParallelism <= 32_768)
        self.maxParallelism = maxParallelism
    }

    /// The key group of a key hash.
    @inline(__always)
    public func keyGroup(hash: UInt64) -> Int { Int(hash % UInt64(maxParallelism)) }

    /// Which of `parallelism` workers owns `keyGroup` (Flink's assignment: contiguous ranges).
    @inline(__always)
    public func worker(owning keyGroup: Int, parallelism: Int) -> Int {
        keyGroup * parallelism / maxParallelism
    }

    /// The key groups worker `worker` of `parallelism` owns.
    public func range(worker: Int, parallelism: Int) -> Range<Int> {
        let start = (worker * maxParallelism + parallelism - 1) / parallelism
        let end = ((worker + 1) * maxParallelism + parallelism - 1) / parallelism
        return start..<end
    }
}

/// A stable 64-bit hash of key bytes: the same in every process and on every run (unlike `Hasher`).
public enum KeyHash {
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return mix(h)
    }

    @inline(__always)
    public static func hash(_ value: Int64, seed: UInt64 = 0) -> UInt64 {
        mix(UInt64(bitPattern: value) ^ 0x9e37_79b9_7f4a_7c15 ^ seed)
    }

    /// Combines the hash of one more key field into `h`.
    @inline(__always)
    public static func combine(_ h: UInt64, _ next: UInt64) -> UInt64 {
        mix(h ^ (next &+ 0x9e37_79b9_7f4a_7c15 &+ (h << 6) &+ (h >> 2)))
    }

    /// murmur3's 64-bit finalizer: spreads every input bit over the output.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
