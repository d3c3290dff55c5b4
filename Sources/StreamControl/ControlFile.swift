import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `<state.dir>/control.json`: where a running job's control endpoint listens, so `streamctl status FILE` finds
/// it from the pipeline file alone. Written when the endpoint starts, removed when the run ends; a file whose
/// pid is no longer alive is left by a run that was killed, and is ignored.
public struct ControlFile: Sendable, Codable, Hashable {
    public static let fileName = "control.json"
    public var url: String
    public var pid: Int32
    public var pipeline: String
    public var startedAtMs: Int64

    enum CodingKeys: String, CodingKey {
        case url, pid, pipeline
        case startedAtMs = "started_at_ms"
    }

    public init(url: String, pid: Int32, pipeline: String, startedAtMs: Int64) {
        self.url = url
        self.pid = pid
        self.pipeline = pipeline
        self.startedAtMs = startedAtMs
    }

    public static func path(stateDir: String) -> String { stateDir + "/" + fileName }

    /// Writes the file (via a temporary and a rename, so a reader never sees half of it).
    public func write(stateDir: String) throws(ControlError) {
        let path = Self.path(stateDir: stateDir)
        let tmp = path + ".tmp"
        do {
            try Data(JSONCoding.encode(self) + [0x0A]).write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            throw ControlError(status: 0, message: "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Removes the file when it still names this process.
    public static func remove(stateDir: String, pid: Int32 = getpid()) {
        if let f = try? read(stateDir: stateDir), f.pid == pid { unlink(path(stateDir: stateDir)) }
    }

    /// The running job's file: throws with a readable reason when there is none or its process is gone.
    public static func read(stateDir: String) throws(ControlError) -> ControlFile {
        let path = Self.path(stateDir: stateDir)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ControlError(
                status: 0,
                message: "no running job found: \(path) does not exist (start it with `streamctl run FILE --http 127.0.0.1:0`)")
        }
        let file: ControlFile
        do { file = try JSONCoding.decode(ControlFile.self, from: Array(data)) } catch {
            throw ControlError(status: 0, message: "\(path) is not a control file: \(error)")
        }
        // Signal 0 only checks that the process exists.
        if kill(file.pid, 0) != 0 && errno == ESRCH {
            throw ControlError(
                status: 0, message: "no running job found: \(path) names pid \(file.pid), which is no longer running")
        }
        return file
    }
}
