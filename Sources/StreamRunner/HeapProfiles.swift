import Foundation
import StreamControl
import StreamCore
import StreamOps
import Synchronization

/// jemalloc heap profiles for `jeprof`: `--heap-profile-dir DIR` turns sampling on at start; a profile is
/// written every `--heap-profile-interval` and on `POST /heap-profile`, named `heap-<pid>-<seq>-<reason>.heap`.
///
/// The executable is built with `prof:true,prof_active:false` (CMallocConf), so profiling costs nothing until
/// a run asks for it and `prof.active` switches sampling on.
public final class HeapProfiles: Sendable {
    public let directory: String
    public let intervalMs: Int64?
    private let state = Mutex<(sequence: Int, lastNs: UInt64)>((0, 0))

    public init(directory: String, intervalMs: Int64?) {
        self.directory = directory
        self.intervalMs = intervalMs
    }

    /// Switches sampling on, or says why there will be no profiles.
    func start() {
        do throws(StreamError) { try Directories.create(directory) } catch {
            RunLog.write("warning: \(error.message): no heap profiles")
            return
        }
        if JemallocStats.activateProfiling() {
            RunLog.write("heap profiles: sampling on, written to \(directory)")
        } else {
            RunLog.write(
                "warning: heap profiles: jemalloc profiling is not available in this process "
                    + "(jemalloc built without --enable-prof, or MALLOC_CONF sets prof:false)")
        }
        state.withLock { $0.lastNs = DispatchTime.now().uptimeNanoseconds }
    }

    func tick() {
        guard let intervalMs else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { s -> Bool in
            guard now &- s.lastNs >= UInt64(intervalMs) * 1_000_000 else { return false }
            s.lastNs = now
            return true
        }
        if due {
            do throws(ControlError) { _ = try dump(reason: "interval") } catch {
                RunLog.write("warning: \(error.message)")
            }
        }
    }

    /// Writes one profile now; returns its path.
    func dump(reason: String) throws(ControlError) -> String {
        guard JemallocStats.isProfilingEnabled else {
            throw ControlError(status: 501, message: "jemalloc profiling is not available in this process")
        }
        let n = state.withLock { s -> Int in
            s.sequence += 1
            return s.sequence
        }
        let path = "\(directory)/heap-\(getpid())-\(String(format: "%04d", n))-\(reason).heap"
        guard JemallocStats.dumpHeapProfile(to: path) else {
            throw ControlError(status: 500, message: "jemalloc could not write the heap profile \(path)")
        }
        RunLog.write("heap profile written: \(path) (read it with `jeprof --text \(CommandLine.arguments[0]) \(path)`)")
        return path
    }
}
