import Foundation
import StreamCore

#if canImport(Glibc)
    import Glibc
#endif

/// The checkpoints directory: `chk-<id>/manifest.json` per completed checkpoint, its own state files under
/// `chk-<id>/state/`, and SST files shared by incremental checkpoints under `shared/` (kept while any
/// retained manifest names them). A manifest is written last and atomically (temp file, fsync, rename,
/// fsync of the directory), so a checkpoint without one never counts.
public struct CheckpointStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    static let manifestName = "manifest.json"

    public func directory(of id: Int64) -> String { root + "/chk-\(id)" }
    var sharedDirectory: String { root + "/shared" }
    /// Where state snapshots are staged before they are copied in.
    public var stagingDirectory: String { root + "/.staging" }

    /// Completed checkpoints' ids, newest first (those with a manifest file).
    public func ids() -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { n -> Int64? in
            guard n.hasPrefix("chk-"), let id = Int64(n.dropFirst(4)) else { return nil }
            return FileManager.default.fileExists(atPath: directory(of: id) + "/" + Self.manifestName) ? id : nil
        }.sorted(by: >)
    }

    public func manifest(_ id: Int64) throws(StreamError) -> CheckpointManifest {
        let path = directory(of: id) + "/" + Self.manifestName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StreamError(.checkpoint, "checkpoint \(id): cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(CheckpointManifest.self, from: data)
        } catch {
            throw StreamError(.checkpoint, "checkpoint \(id): \(path) is not a valid manifest: \(error)")
        }
    }

    /// Checks every state file of `manifest` (size and CRC-32C); throws naming the first bad one.
    public func verify(_ manifest: CheckpointManifest) throws(StreamError) {
        for f in manifest.state {
            let path = root + "/" + f.path
            let (size, crc) = try Self.checksum(path)
            guard size == f.size, crc == f.crc32c else {
                throw StreamError(
                    .checkpoint,
                    "checkpoint \(manifest.id): \(path) is corrupt (size \(size), crc32c \(crc); the manifest says "
                        + "\(f.size), \(f.crc32c))")
            }
        }
    }

    /// The newest checkpoint whose manifest parses and whose files check out; corrupt ones are reported
    /// through `log` and skipped (the previous one is used).
    public func latestValid(log: (String) -> Void = RunLog.write) -> CheckpointManifest? {
        for id in ids() {
            do throws(StreamError) {
                let m = try manifest(id)
                try verify(m)
                return m
            } catch {
                log("checkpoint: skipping \(directory(of: id)): \(error.message)")
            }
        }
        return nil
    }

    /// Copies the staged state files into the checkpoint: incremental keeps SST files in `shared/` once
    /// (SST files never change), full copies every file into the checkpoint's own directory.
    func copyState(
        from staging: String, files: [String], id: Int64, incremental: Bool, crcCache: inout [String: UInt32]
    ) throws(StreamError) -> (files: [CheckpointManifest.StateFile], bytesCopied: Int64) {
        let own = directory(of: id) + "/state"
        try Self.makeDirectories(own)
        if incremental { try Self.makeDirectories(sharedDirectory) }
        var out: [CheckpointManifest.StateFile] = []
        var copied: Int64 = 0
        for name in files {
            let source = staging + "/" + name
            var info = stat()
            guard stat(source, &info) == 0 else {
                throw StreamError(.checkpoint, "cannot read \(source): \(String(cString: strerror(errno)))")
            }
            let size = Int64(info.st_size)
            if incremental && name.hasSuffix(".sst") {
                // Keyed by name, size and inode: the same SST file staged again is recognised without a read.
                let cacheKey = "\(name)|\(size)|\(info.st_ino)"
                let crc: UInt32
                if let known = crcCache[cacheKey] {
                    crc = known
                } else {
                    crc = try Self.checksum(source).crc
                    crcCache[cacheKey] = crc
                }
                let relative = "shared/\(String(crc, radix: 16))-\(size)-\(name)"
                if !FileManager.default.fileExists(atPath: root + "/" + relative) {
                    try Self.copy(source, to: root + "/" + relative)
                    copied += size
                }
                out.append(.init(name: name, size: size, crc32c: crc, path: relative))
            } else {
                let crc = try Self.copy(source, to: own + "/" + name)
                copied += size
                out.append(.init(name: name, size: size, crc32c: crc, path: "chk-\(id)/state/\(name)"))
            }
        }
        Self.syncDirectory(own)
        if incremental { Self.syncDirectory(sharedDirectory) }
        return (out, copied)
    }

    /// Writes `manifest` atomically: the checkpoint exists from the rename on.
    func write(_ manifest: CheckpointManifest) throws(StreamError) {
        let dir = directory(of: manifest.id)
        try Self.makeDirectories(dir)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(manifest) } catch {
            throw StreamError(.checkpoint, "cannot encode checkpoint \(manifest.id): \(error)")
        }
        let temp = dir + "/." + Self.manifestName + ".tmp"
        let final = dir + "/" + Self.manifestName
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StreamError(.checkpoint, "cannot write \(temp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { buf -> Bool in
            var p = buf.baseAddress!
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n <= 0 { return false }
                p += n
                left -= n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temp, final) == 0 else {
            throw StreamError(.checkpoint, "cannot write \(final): \(String(cString: strerror(errno)))")
        }
        Self.syncDirectory(dir)
        Self.syncDirectory(root)
    }

    /// Keeps the newest `retain` checkpoints; removes older ones and shared files no kept manifest names.
    func retire(retain: Int) throws(StreamError) {
        let all = ids()
        for id in all.dropFirst(max(1, retain)) { try? FileManager.default.removeItem(atPath: directory(of: id)) }
        var referenced = Set<String>()
        for id in all.prefix(max(1, retain)) {
            if let m = try? manifest(id) { for f in m.state where f.path.hasPrefix("shared/") { referenced.insert(f.path) } }
        }
        let shared = (try? FileManager.default.contentsOfDirectory(atPath: sharedDirectory)) ?? []
        for name in shared where !referenced.contains("shared/" + name) {
            try? FileManager.default.removeItem(atPath: sharedDirectory + "/" + name)
        }
        // Directories of checkpoints that never got a manifest (aborted or crashed) hold nothing of value.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let kept = Set(all.map { "chk-\($0)" })
        for n in names where n.hasPrefix("chk-") && !kept.contains(n) {
            if let id = Int64(n.dropFirst(4)), id > (all.first ?? 0) { continue }  // may be in flight
            try? FileManager.default.removeItem(atPath: root + "/" + n)
        }
    }

    /// Puts the state files of `manifest` into the empty directory `directory` for the backend to open.
    public func restoreState(_ manifest: CheckpointManifest, into directory: String) throws(StreamError) {
        try Self.makeDirectories(directory)
        for f in manifest.state {
            let target = directory + "/" + f.name
            // A hard link is enough (files are never modified in place); copy across filesystems.
            if link(root + "/" + f.path, target) != 0 { _ = try Self.copy(root + "/" + f.path, to: target) }
        }
    }

    /// Copies checkpoint `id` with every file it needs into `directory` (a savepoint: self-contained, full).
    public func exportSavepoint(_ id: Int64, to directory: String) throws(StreamError) {
        var m = try manifest(id)
        let target = CheckpointStore(root: directory)
        let own = target.directory(of: id) + "/state"
        try Self.makeDirectories(own)
        var files: [CheckpointManifest.StateFile] = []
        for f in m.state {
            let crc = try Self.copy(root + "/" + f.path, to: own + "/" + f.name)
            guard crc == f.crc32c else {
                throw StreamError(.checkpoint, "checkpoint \(id): \(root)/\(f.path) does not match its checksum")
            }
            files.append(.init(name: f.name, size: f.size, crc32c: crc, path: "chk-\(id)/state/\(f.name)"))
        }
        Self.syncDirectory(own)
        m.state = files
        m.savepoint = true
        m.incremental = false
        try target.write(m)
    }

    /// Removes every checkpoint (`--fresh`).
    public func removeAll() throws(StreamError) {
        guard FileManager.default.fileExists(atPath: root) else { return }
        do {
            for n in try FileManager.default.contentsOfDirectory(atPath: root) {
                try FileManager.default.removeItem(atPath: root + "/" + n)
            }
        } catch {
            throw StreamError(.checkpoint, "cannot remove the checkpoints in \(root): \(error.localizedDescription)")
        }
    }

    // MARK: files

    static func makeDirectories(_ path: String) throws(StreamError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw StreamError(.checkpoint, "cannot create \(path): \(error.localizedDescription)")
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Size and CRC-32C of a file.
    static func checksum(_ path: String) throws(StreamError) -> (size: Int64, crc: UInt32) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StreamError(.checkpoint, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var crc: UInt32 = 0
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw StreamError(.checkpoint, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            crc = buffer.withUnsafeBytes { CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += Int64(n)
        }
        return (size, crc)
    }

    /// Copies `source` to `target` (fsynced) and returns the CRC-32C of what was copied.
    @discardableResult
    static func copy(_ source: String, to target: String) throws(StreamError) -> UInt32 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw StreamError(.checkpoint, "cannot read \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        let temp = target + ".tmp"
        let output = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw StreamError(.checkpoint, "cannot write \(temp): \(String(cString: strerror(errno)))")
        }
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failed: String?
        while failed == nil {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 { failed = "cannot read \(source): \(String(cString: strerror(errno)))" }
            if n <= 0 { break }
            let written = buffer.withUnsafeBytes { b -> Bool in
                var p = b.baseAddress!
                var left = n
                while left > 0 {
                    let w = Glibc.write(output, p, left)
                    if w <= 0 { return false }
                    p += w
                    left -= w
                }
                return true
            }
            if !written { failed = "cannot write \(temp): \(String(cString: strerror(errno)))" }
            crc = buffer.withUnsafeBytes { CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        if failed == nil && fsync(output) != 0 { failed = "cannot sync \(temp): \(String(cString: strerror(errno)))" }
        close(output)
        if failed == nil && rename(temp, target) != 0 {
            failed = "cannot write \(target): \(String(cString: strerror(errno)))"
        }
        if let failed {
            unlink(temp)
            throw StreamError(.checkpoint, failed)
        }
        return crc
    }
}
