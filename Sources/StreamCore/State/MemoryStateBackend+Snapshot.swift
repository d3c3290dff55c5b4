#if canImport(Glibc)
    import Glibc
#endif

/// Checkpoints of the in-memory backend: every table's entries in one file, `memory-state.bin`
/// (`SCMS` `1`, then per table: name, entry count, entries as length-prefixed key and value).
extension MemoryStateBackend {
    static let snapshotFile = "memory-state.bin"

    public func snapshot(into directory: String) throws(StreamError) -> [String] {
        var prefix = ""
        for part in directory.split(separator: "/", omittingEmptySubsequences: false) {
            prefix += (prefix.isEmpty && directory.hasPrefix("/") ? "" : (prefix.isEmpty ? "" : "/")) + part
            if prefix.isEmpty { prefix = "/" ; continue }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw StreamError(.checkpoint, "cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        var out: [UInt8] = Array("SCMS".utf8) + [1]
        for (name, table) in allTables().sorted(by: { $0.0 < $1.0 }) {
            let entries = table.allEntries()
            Self.append(Array(name.utf8), &out)
            Self.append(UInt64(entries.count), &out)
            for (k, v) in entries {
                Self.append(k, &out)
                Self.append(v, &out)
            }
        }
        let path = directory + "/" + Self.snapshotFile
        guard let f = fopen(path, "wb") else {
            throw StreamError(.checkpoint, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let written = out.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let ok = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard written == out.count, ok else {
            throw StreamError(.checkpoint, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return [Self.snapshotFile]
    }

    /// Loads a snapshot written by `snapshot(into:)` from `directory`.
    public func restore(from directory: String) throws(StreamError) {
        let path = directory + "/" + Self.snapshotFile
        guard let f = fopen(path, "rb") else {
            throw StreamError(.checkpoint, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        var at = 0
        func take(_ n: Int) throws(StreamError) -> ArraySlice<UInt8> {
            guard at + n <= bytes.count else { throw StreamError(.checkpoint, "\(path) is truncated") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        func number() throws(StreamError) -> UInt64 {
            var v: UInt64 = 0
            for b in try take(8) { v = v << 8 | UInt64(b) }
            return v
        }
        func blob() throws(StreamError) -> [UInt8] { Array(try take(Int(try number()))) }
        guard Array(try take(5)) == Array("SCMS".utf8) + [1] else {
            throw StreamError(.checkpoint, "\(path) is not a memory-state snapshot")
        }
        while at < bytes.count {
            let name = String(decoding: try blob(), as: UTF8.self)
            let count = try number()
            var write = StateWriteBatch()
            for _ in 0..<count { write.put(try blob(), try blob()) }
            try table(named: name).write(write)
        }
    }

    private static func append(_ v: UInt64, _ out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    private static func append(_ b: [UInt8], _ out: inout [UInt8]) {
        append(UInt64(b.count), &out)
        out += b
    }
}
