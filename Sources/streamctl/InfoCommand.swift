import ArgumentParser
import CMallocConf
import StreamCore
import StreamOps
import StreamPipeline

/// Build and runtime facts: versions, allocator, CPUs.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print versions of the linked libraries and the allocator's statistics.",
        discussion: """
            Examples:
              streamctl info
              streamctl info --allocate 64MiB   # shows jemalloc's stats.allocated growing
            """)

    @Option(help: "Allocate and touch this much memory, then print the allocator statistics again.")
    var allocate: String?

    func run() throws {
        print("streamctl \(Streamctl.version)")
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
                log("error: --allocate takes a size like 64MiB")
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
