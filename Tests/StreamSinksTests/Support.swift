import Foundation
import StreamCore
import StreamSinks
import Synchronization

/// A clock that moves only when told to (or when a throttle sleeps on it).
final class ManualClock: SleepingClock, Sendable {
    private let state = Mutex<(ms: Int64, ns: UInt64)>((1_700_000_000_000, 1_000_000_000))

    func nowMs() -> Int64 { state.withLock { $0.ms } }
    func monotonicNs() -> UInt64 { state.withLock { $0.ns } }

    func advance(ms: Int64) { advance(ns: UInt64(ms) * 1_000_000) }

    func advance(ns: UInt64) {
        state.withLock {
            $0.ns += ns
            $0.ms = 1_700_000_000_000 + Int64(($0.ns - 1_000_000_000) / 1_000_000)
        }
    }

    func sleep(nanoseconds: UInt64) { advance(ns: nanoseconds) }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "streamsinks-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file below the directory, as relative paths, sorted.
    func files() -> [String] {
        let fm = FileManager.default
        let all = (try? fm.subpathsOfDirectory(atPath: path)) ?? []
        return all.filter { p in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: path + "/" + p, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }

    func read(_ relative: String) -> String {
        (try? String(contentsOfFile: path + "/" + relative, encoding: .utf8)) ?? ""
    }
}

func makeBatch(_ fields: [Field], _ rows: [[Value]]) -> Batch {
    var b = Batch(schema: Schema(fields))
    for row in rows {
        for (i, v) in row.enumerated() { b.columns[i].append(v) }
        b.commitRow()
    }
    return b
}

func jsonLine(_ batch: Batch, _ row: Int) -> String {
    String(decoding: JSONRowEncoder.jsonMessage(batch, row: row), as: UTF8.self)
}

/// The `N` of `part-W-N.ext`, for ordering part files the way they were written.
func partSequence(_ path: String) -> Int {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    let parts = name.split(separator: "-")
    guard parts.count >= 3 else { return -1 }
    return Int(parts[2].split(separator: ".")[0]) ?? -1
}
