import ArgumentParser
import CMallocConf
import StreamCore
import StreamKafka
import StreamOps
import StreamPipeline
import StreamState

#if canImport(Glibc)
    import Glibc
#endif

/// Build and runtime facts: versions, allocator, CPUs.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print versions of the linked libraries and the allocator's statistics.",
        discussion: """
            Examples:
              streamctl info
              streamctl info --allocate 64MiB   # shows jemalloc's stats.allocated growing
            """)

    @Option(
        help:
            "Allocate and touch this much memory (at most half the machine's), then print the allocator statistics again."
    )
    var allocate: String?

    /// Debug or release, and the compiler that built it.
    static var build: String {
        #if DEBUG
            let kind = "debug build"
        #else
            let kind = "release build"
        #endif
        #if compiler(>=6.3)
            let swift = "Swift 6.3"
        #elseif compiler(>=6.2)
            let swift = "Swift 6.2"
        #elseif compiler(>=6.1)
            let swift = "Swift 6.1"
        #else
            let swift = "Swift 6.0"
        #endif
        return "\(kind), \(swift)"
    }

    func run() throws {
        print("streamctl \(Streamctl.version) (\(Self.build))")
        print("librdkafka: \(KafkaLibrary.version)")
        print("rocksdb: \(RocksLibrary.version)")
        print("cpus: \(ProcessMemory.availableCPUs())")
        print("allocator: \(JemallocStats.isProcessAllocator ? "jemalloc" : "libc") \(JemallocStats.version ?? "")")
        if streamctl_malloc_conf_linked() != 0, let d = JemallocStats.decayOptions {
            print(
                "jemalloc options: background_thread=\(d.backgroundThread) dirty_decay_ms=\(d.dirtyDecayMs) muzzy_decay_ms=\(d.muzzyDecayMs)"
            )
        }
        if let n = JemallocStats.arenaCount {
            print(
                "jemalloc arenas: \(n); `run` binds its worker threads to \(ProcessMemory.availableCPUs()) (the CPU quota)"
            )
        }
        if let s = JemallocStats.snapshot() {
            print("jemalloc: allocated=\(s.allocated) resident=\(s.resident) active=\(s.active) mapped=\(s.mapped)")
        }
        if let text = allocate {
            guard let bytes = Sizes.parseBytes(text), bytes > 0 else {
                log("error: --allocate takes a size like 64MiB, not `\(text)`")
                throw ExitCode(Exit.config.rawValue)
            }
            // Touching more than half the machine's memory would swap or be killed, not measure anything.
            let limit = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))) / 2
            guard bytes <= limit else {
                log("error: --allocate \(text) is more than half of this machine's memory (\(Sizes.format(limit)))")
                throw ExitCode(Exit.config.rawValue)
            }
            var block = [UInt8](repeating: 1, count: Int(bytes))
            block[block.count - 1] = 2
            if let s = JemallocStats.snapshot() {
                print("after allocating \(bytes) bytes: allocated=\(s.allocated) resident=\(s.resident)")
            }
            withExtendedLifetime(block) {}
        }
    }
}
