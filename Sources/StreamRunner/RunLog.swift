import StreamCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Lines on stderr: logs, progress and warnings never mix with rows on stdout.
public enum RunLog {
    /// Writes `message` and a newline to stderr in one `write`, so lines of several threads do not interleave.
    public static func write(_ message: String) {
        var line = message + "\n"
        line.withUTF8 { buf in
            var p = buf.baseAddress!
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(2, p, left)
                if n <= 0 { break }
                p += n
                left -= n
            }
        }
    }
}

/// A file appended to from several threads (JSON lines: late rows, summaries).
public final class AppendFile: Sendable {
    private let file: Mutex<FileBox?>
    public let path: String

    struct FileBox: @unchecked Sendable { let f: UnsafeMutablePointer<FILE> }

    public init(path: String) {
        self.path = path
        file = Mutex(fopen(path, "a").map(FileBox.init))
        if file.withLock({ $0 == nil }) {
            RunLog.write("warning: cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    public func append(_ bytes: [UInt8]) {
        file.withLock { box in
            guard let f = box?.f else { return }
            bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fflush(f)
        }
    }

    deinit { file.withLock { box in if let f = box?.f { fclose(f) } } }
}

extension Int64 {
    /// `1.2M`, `850k`: short counts for the progress line.
    public var short: String {
        let v = Double(self)
        if abs(v) >= 1e9 { return String(format1(v / 1e9)) + "G" }
        if abs(v) >= 1e6 { return String(format1(v / 1e6)) + "M" }
        if abs(v) >= 1e3 { return String(format1(v / 1e3)) + "k" }
        return String(self)
    }
}

/// One decimal place, without a trailing `.0`.
public func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
}
