#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX calls the sinks make, with errno turned into text.
enum POSIX {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Writes all of `bytes`, retrying short writes and EINTR. Returns 0 or the errno of the failure.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard var p = bytes.baseAddress else { return 0 }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            p += n
            left -= n
        }
        return 0
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    static func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// fsyncs a directory so renames in it survive a crash (best effort: some filesystems refuse).
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = closeDescriptor(fd)
    }

    /// `mkdir -p`: creates `path` and its missing parents.
    static func makeDirectories(_ path: String) throws(StreamErrorText) {
        var current = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            current += component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StreamErrorText("cannot create directory \(current): \(errorText(errno))")
            }
            current += "/"
        }
    }
}

/// A failure message on its way into a `StreamError` of the caller's kind.
struct StreamErrorText: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
