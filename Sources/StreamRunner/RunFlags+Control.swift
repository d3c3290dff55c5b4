import StreamControl
import StreamPipeline

extension RunFlags {
    /// `--http`, `--heap-profile-dir` and `--heap-profile-interval`, checked.
    static func control(_ r: RunRequest) throws(FlagError) -> (ControlAddress?, HeapProfiles?) {
        var address: ControlAddress?
        if let text = r.http {
            guard let a = ControlAddress(text) else {
                throw FlagError("--http takes HOST:PORT (e.g. 127.0.0.1:9464, or port 0 to pick one), not `\(text)`")
            }
            address = a
        }
        var intervalMs: Int64?
        if let text = r.heapProfileInterval {
            guard r.heapProfileDir != nil else {
                throw FlagError("--heap-profile-interval needs --heap-profile-dir DIR: where the profiles go")
            }
            guard let ms = Durations.parseMs(text), ms >= 1000 else {
                throw FlagError("--heap-profile-interval `\(text)` is not a duration of at least 1s (e.g. 10m)")
            }
            intervalMs = ms
        }
        let heap = r.heapProfileDir.map { HeapProfiles(directory: $0, intervalMs: intervalMs) }
        return (address, heap)
    }
}
