#if canImport(Glibc)
    import Glibc
#endif

/// `mkdir -p` for output and state paths named in a pipeline.
public enum Directories {
    /// Creates `path` and its missing parents.
    public static func create(_ path: String) throws(StreamError) {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StreamError(.io, "cannot create directory \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Creates the directory that will hold file `path`.
    public static func createParent(of path: String) throws(StreamError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try create(String(path[..<slash]))
    }
}
