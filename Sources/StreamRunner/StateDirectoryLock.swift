import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// `state.dir/streamctl.lock`: held (flock) for the whole run, holding the pid of the process that owns the
/// directory, so a second run on the same state is refused with the holder's pid instead of RocksDB's
/// `LOCK: Resource temporarily unavailable`. The kernel releases it when the process ends, however it ends.
public final class StateDirectoryLock: Sendable {
    public static let fileName = "streamctl.lock"
    public let path: String
    private let fd: Int32

    /// Why the lock could not be taken.
    public enum Failure: Error, Sendable {
        /// Another process holds it; its pid when the file names one.
        case held(path: String, pid: Int32?)
        case io(String)
    }

    /// Takes the lock of `directory` (created when missing) without waiting.
    public init(directory: String) throws(Failure) {
        do throws(StreamError) { try Directories.create(directory) } catch { throw .io(error.message) }
        path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .io("cannot open the state lock \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = Self.readPid(fd)
            close(fd)
            if code == EWOULDBLOCK { throw .held(path: path, pid: holder) }
            throw .io("cannot lock \(path): \(String(cString: strerror(code)))")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }

    private static func readPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingWhitespace()
        return Int32(text)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
