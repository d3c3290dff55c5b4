import StreamCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What earlier runs left under a file sink's path, and the start-of-run checks and cleanup on it.
///
/// Part files are `part-*` (complete), `_partial-part-*` (written while the run was being stopped, so
/// windows in them may be incomplete; the leading `_` hides them from Hive, Spark and Trino) and the
/// hidden `.part-*.inprogress` (being written; left behind only by a run that died).
public enum OutputDirectory {
    /// Committed part files under `path` (complete and partial), sorted.
    public static func parts(under path: String) -> [String] {
        files(under: path).filter { name in
            let base = lastComponent(name)
            return base.hasPrefix("part-") || base.hasPrefix(PartFile.partialPrefix + "part-")
        }
    }

    /// In-progress part files under `path`, sorted.
    public static func inProgress(under path: String) -> [String] {
        files(under: path).filter { name in
            let base = lastComponent(name)
            return base.hasPrefix(".part-") && base.hasSuffix(".inprogress")
        }
    }

    /// Removes the in-progress files a dead run left (no live writer can own them: a run holds the state
    /// lock before it looks here). Returns how many were removed.
    @discardableResult
    public static func removeStaleInProgress(under path: String) throws(StreamError) -> Int {
        let stale = inProgress(under: path)
        for file in stale where unlink(file) != 0 && errno != ENOENT {
            throw StreamError(.sink, "cannot remove stale \(file): \(POSIX.errorText(errno))")
        }
        return stale.count
    }

    /// Removes every part file (committed, partial, in progress) under `path`: `--fresh`.
    @discardableResult
    public static func removeParts(under path: String) throws(StreamError) -> Int {
        let all = parts(under: path) + inProgress(under: path)
        for file in all where unlink(file) != 0 && errno != ENOENT {
            throw StreamError(.sink, "cannot remove \(file): \(POSIX.errorText(errno))")
        }
        return all.count
    }

    /// Creates `path` when missing and checks that files can be created in it, so a bad output path fails
    /// at start rather than when the first window fires.
    public static func checkWritable(_ path: String) throws(StreamError) {
        do {
            try POSIX.makeDirectories(path)
        } catch {
            throw StreamError(.sink, "output path \(path): \(error.message)")
        }
        var isDirectory = stat()
        guard stat(path, &isDirectory) == 0, (isDirectory.st_mode & S_IFMT) == S_IFDIR else {
            throw StreamError(.sink, "output path \(path) is not a directory")
        }
        if access(path, W_OK | X_OK) != 0 {
            throw StreamError(.sink, "output path \(path) is not writable: \(POSIX.errorText(errno))")
        }
    }

    private static func lastComponent(_ path: String) -> Substring {
        path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path)
    }

    /// Every regular file below `path`, recursively, sorted; nothing when `path` does not exist.
    static func files(under path: String) -> [String] {
        var result: [String] = []
        var pending = [path]
        while let dir = pending.popLast() {
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name == "." || name == ".." { continue }
                let full = dir + "/" + name
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: pending.append(full)
                case S_IFREG: result.append(full)
                default: break
                }
            }
        }
        return result.sorted()
    }
}
