import Foundation
import StreamCore

/// Keeps RocksDB away from a full filesystem under `state.dir`. RocksDB 7.8, as Debian builds it, aborts the
/// process on a write error after an earlier one (`sync_without_flush_called_`), so streamctl must stop
/// before the disk is full: at start it refuses a filesystem with less than `startMinimum` free, and while
/// running it fails the job (exit 74, summary written, state closed) once less than `runMinimum` is left.
/// A filesystem filled faster than one look per supervisor tick can still reach RocksDB's failure.
public struct DiskSpaceWatch: Sendable {
    public static let startMinimum: Int64 = 64 << 20
    public static let runMinimum: Int64 = 32 << 20
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Free bytes for an unprivileged writer, or nil when the filesystem cannot be asked.
    public func freeBytes() -> Int64? {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory)
        return (attributes?[.systemFreeSize] as? NSNumber)?.int64Value
    }

    /// The error to stop with when fewer than `minimum` bytes are free, nil otherwise.
    public func shortage(minimum: Int64, starting: Bool) -> StreamError? {
        guard let free = freeBytes(), free < minimum else { return nil }
        let mib = { (b: Int64) in "\(b >> 20) MiB" }
        let what = starting ? "cannot start" : "stopping before RocksDB runs out of space"
        return StreamError(
            .state,
            "the filesystem of state.dir \(directory) has \(mib(free)) free, less than the \(mib(minimum)) "
                + "streamctl keeps in reserve: \(what); free space or move `state.dir`")
    }
}
