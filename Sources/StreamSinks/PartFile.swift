import StreamCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One part file of a bucket and its life:
/// `inProgress` (written under the hidden name `.part-W-N.ext.inprogress`) → `pending` (closed, complete,
/// still hidden) → `committed` (renamed to `part-W-N.ext`, or `_partial-part-W-N.ext` when the run was
/// being stopped early). Without checkpoints a part goes through `pending` straight to `committed`; with
/// them, `pending` is where a part waits for its checkpoint.
final class PartFile {
    /// Prefix of parts committed after an early stop (signal, `--max-duration`): their windows may be
    /// incomplete. Names starting with `_` are skipped by Hive, Spark and Trino readers.
    static let partialPrefix = "_partial-"

    enum State: Equatable {
        case inProgress
        case pending
        case committed
    }

    let bucket: String
    let inProgressPath: String
    let finalPath: String
    let partialPath: String
    private(set) var state = State.inProgress
    private var fd: Int32
    /// Encoded rows not yet handed to the OS.
    var buffer: [UInt8] = []
    private(set) var bytesOnDisk: Int64 = 0
    var rows: Int64 = 0
    let openedMs: Int64
    var lastWriteMs: Int64
    /// Recency for closing the least recently used part when too many are open.
    var lastUse: UInt64 = 0

    /// Everything written so far, buffered or not.
    var size: Int64 { bytesOnDisk + Int64(buffer.count) }

    init(bucket: String, directory: String, name: String, nowMs: Int64, bufferBytes: Int) throws(StreamError) {
        self.bucket = bucket
        self.inProgressPath = directory + "/." + name + ".inprogress"
        self.finalPath = directory + "/" + name
        self.partialPath = directory + "/" + Self.partialPrefix + name
        self.openedMs = nowMs
        self.lastWriteMs = nowMs
        fd = open(inProgressPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw StreamError(.sink, "cannot create part file \(inProgressPath): \(POSIX.errorText(errno))")
        }
        buffer.reserveCapacity(bufferBytes + bufferBytes / 4)
    }

    deinit {
        if fd >= 0 { _ = POSIX.closeDescriptor(fd) }
    }

    /// Hands the buffered bytes to the OS; returns how many were written.
    @discardableResult
    func flushBuffer() throws(StreamError) -> Int {
        precondition(state == .inProgress, "writing a closed part file")
        guard !buffer.isEmpty else { return 0 }
        let e = POSIX.writeAll(fd, buffer)
        if e != 0 { throw StreamError(.sink, "writing \(inProgressPath) failed: \(POSIX.errorText(e))") }
        let n = buffer.count
        bytesOnDisk += Int64(n)
        buffer.removeAll(keepingCapacity: true)
        return n
    }

    /// inProgress → pending: flushes, optionally syncs, and closes the file. Returns the bytes flushed.
    @discardableResult
    func finish(sync: Bool) throws(StreamError) -> Int {
        let n = try flushBuffer()
        if sync && fsync(fd) != 0 {
            throw StreamError(.sink, "fsync of \(inProgressPath) failed: \(POSIX.errorText(errno))")
        }
        let rc = POSIX.closeDescriptor(fd)
        fd = -1
        if rc != 0 { throw StreamError(.sink, "closing \(inProgressPath) failed: \(POSIX.errorText(errno))") }
        state = .pending
        return n
    }

    /// pending → committed: the rename that makes the part visible under its final name (`partial`: under
    /// the name that marks it as possibly holding incomplete windows).
    func commit(partial: Bool = false) throws(StreamError) {
        precondition(state == .pending, "committing a part file that is not pending")
        let target = partial ? partialPath : finalPath
        if rename(inProgressPath, target) != 0 {
            throw StreamError(.sink, "renaming \(inProgressPath) to \(target) failed: \(POSIX.errorText(errno))")
        }
        state = .committed
    }
}
