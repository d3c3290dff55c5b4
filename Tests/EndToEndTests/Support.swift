import Foundation
import Testing

/// The repository root, from this file's path.
let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The streamctl binary `swift build` produced beside the test bundle.
let streamctl: String = {
    let candidates = [".build/debug/streamctl", ".build/release/streamctl"].map {
        repoRoot.appendingPathComponent($0).path
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}()

struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command to completion, feeding `input` on stdin, with a time limit.
@discardableResult
func run(
    _ executable: String, _ arguments: [String], in directory: URL = repoRoot, input: String? = nil,
    timeout: TimeInterval = 120
) throws -> Outcome {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.currentDirectoryURL = directory
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = inPipe
    try p.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    // Drain both pipes while the process runs so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        p.terminate()
        p.waitUntilExit()
    }
    group.wait()
    p.waitUntilExit()
    return Outcome(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

func streamctlRun(_ arguments: [String], in directory: URL = repoRoot, timeout: TimeInterval = 120) throws -> Outcome {
    try run(streamctl, arguments, in: directory, timeout: timeout)
}

/// A fresh temporary directory, removed by the caller with `cleanup`.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("streamctl-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func cleanup(_ url: URL) { try? FileManager.default.removeItem(at: url) }

/// Every committed output line (published part files only), with its count.
func committed(_ dir: URL) throws -> [String: Int] {
    var lines: [String: Int] = [:]
    guard let files = FileManager.default.enumerator(atPath: dir.path) else { return lines }
    for case let f as String in files {
        let name = (f as NSString).lastPathComponent
        guard name.hasPrefix("part-") else { continue }
        let text = try String(contentsOfFile: dir.appendingPathComponent(f).path, encoding: .utf8)
        for l in text.split(separator: "\n") { lines[String(l), default: 0] += 1 }
    }
    return lines
}

/// Starts `streamctl` with these arguments in the background, stderr to `log` (stdout to `stdout`, else
/// nowhere); returns the process.
func startStreamctl(_ arguments: [String], log: URL, stdout: Pipe? = nil) throws -> Process {
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: streamctl)
    p.arguments = arguments
    p.standardOutput = stdout ?? FileHandle.nullDevice
    p.standardError = try FileHandle(forWritingTo: log)
    try p.run()
    return p
}

/// Waits until `log` contains `text` (an event, not a duration: the long limit only catches a hang).
@discardableResult
func waitForLog(_ log: URL, toContain text: String, while process: Process? = nil, seconds: Int = 60) -> Bool {
    for _ in 0..<(seconds * 20) {
        if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text) { return true }
        if let process, !process.isRunning { break }
        usleep(50_000)
    }
    return ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text)
}

/// A dev broker in its own process, stopped when the test ends (and by itself after `lifetime` seconds,
/// so a failed test never leaves one behind).
final class DevBroker {
    let process = Process()
    let addressFile: URL
    /// The bootstrap address, once the broker is ready.
    private(set) var bootstrap: String?

    init(topic: String, in dir: URL, lifetime: Int = 120, extra: [String] = []) throws {
        addressFile = dir.appendingPathComponent("broker-\(UUID().uuidString).addr")
        process.executableURL = URL(fileURLWithPath: streamctl)
        process.arguments = [
            "dev-broker", "--topic", topic, "--address-file", addressFile.path,
            "--exit-after", String(lifetime),
        ] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOf: addressFile, encoding: .utf8), text.hasSuffix("\n") {
                bootstrap = text.trimmingCharacters(in: .whitespacesAndNewlines)
                return
            }
            usleep(20_000)
        }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Every JSON object of a JSON-lines text.
func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}
