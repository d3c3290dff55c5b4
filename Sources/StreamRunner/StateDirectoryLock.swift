import Foundation
import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// `state.dir/streamctl.lock`: held (flock) for the whole run, and holding who holds it — pid, start time and
/// pipeline file, as JSON — so a second run of the same job (a cron job that overlaps the last one) is refused
/// with a message naming the holder instead of RocksDB's `LOCK: Resource temporarily unavailable`. The kernel
/// releases the flock when the process ends, however it ends; a file that still names a holder when the lock
/// is free was left by a process that died (`kill -9`, a crash) and is taken over with a warning.
public final class StateDirectoryLock: Sendable {
    public static let fileName = "streamctl.lock"
    public let path: String
    /// The holder a process that died left in the file, when this lock took it over.
    public let tookOverFrom: Holder?
    private let fd: Int32

    /// Who holds (or held) the lock.
    public struct Holder: Sendable, Hashable, Codable {
        public var pid: Int32
        /// Epoch milliseconds.
        public var startedAtMs: Int64?
        /// The pipeline file, absolute.
        public var pipeline: String?

        public init(pid: Int32, startedAtMs: Int64?, pipeline: String?) {
            self.pid = pid
            self.startedAtMs = startedAtMs
            self.pipeline = pipeline
        }

        /// This process, running `pipeline`.
        public static func current(pipeline: String?) -> Holder {
            let absolute = pipeline.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
            return Holder(
                pid: getpid(), startedAtMs: Int64(Date().timeIntervalSince1970 * 1000),
                pipeline: absolute.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        }

        /// `streamctl process 4242 (started 2026-12-01T02:00:00Z, pipeline /etc/streamctl/orders.yaml)`.
        public var description: String {
            var about: [String] = []
            if let t = startedAtMs { about.append("started \(CivilTime.rfc3339(t))") }
            if let p = pipeline { about.append("pipeline \(p)") }
            return "streamctl process \(pid)" + (about.isEmpty ? "" : " (\(about.joined(separator: ", ")))")
        }

        enum CodingKeys: String, CodingKey {
            case pid, pipeline
            case startedAtMs = "started_at_ms"
        }

        /// The file's contents: this JSON, or a bare pid as earlier builds wrote it.
        static func parse(_ text: String) -> Holder? {
            let trimmed = text.trimmingWhitespace()
            if let pid = Int32(trimmed) { return Holder(pid: pid, startedAtMs: nil, pipeline: nil) }
            return try? JSONDecoder().decode(Holder.self, from: Data(trimmed.utf8))
        }

        var json: String {
            var fields = ["\"pid\":\(pid)"]
            if let t = startedAtMs {
                fields.append("\"started_at_ms\":\(t)")
                fields.append("\"started_at\":" + JSONText.quote(CivilTime.rfc3339(t)))
            }
            if let p = pipeline { fields.append("\"pipeline\":" + JSONText.quote(p)) }
            return "{" + fields.joined(separator: ",") + "}\n"
        }
    }

    /// Why the lock could not be taken.
    public enum Failure: Error, Sendable {
        /// Another process holds it; who, when the file says.
        case held(path: String, holder: Holder?)
        case io(String)
    }

    /// Takes the lock of `directory` (created when missing) without waiting, recording `holder` in it.
    public init(directory: String, holder: Holder = .current(pipeline: nil)) throws(Failure) {
        do throws(StreamError) { try Directories.create(directory) } catch { throw .io(error.message) }
        path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .io("cannot open the state lock \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let found = Self.read(fd)
            close(fd)
            if code == EWOULDBLOCK { throw .held(path: path, holder: found) }
            throw .io("cannot lock \(path): \(String(cString: strerror(code)))")
        }
        // A clean exit empties the file; one that still names a holder is what a dead process left.
        let left = Self.read(fd)
        tookOverFrom = left.flatMap { $0.pid == getpid() ? nil : $0 }
        let text = Array(holder.json.utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }

    private static func read(_ fd: Int32) -> Holder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Holder.parse(String(decoding: buffer[0..<n], as: UTF8.self))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
