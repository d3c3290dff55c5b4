import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Acting on a running job from another shell: `profile set`, `profile show` and `savepoint` through the
/// control endpoint the job announced in its state directory.
@Suite(.serialized) struct ControlRoutesTests {
    @Test func profileSetShowAndSavepointActOnTheRunningJob() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let pipeline = dir.appendingPathComponent("p.yaml")
        try """
        name: controlled
        schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
        source:
          generator: { seed: 1, rows: 50000000, keys: 50, step: 1s }
          event_time: { field: ts, max_disorder: 1s }
        operators:
          - key_by: shop
          - window: { tumbling: 10m, aggregate: { orders: count() } }
        sink:
          file: { path: \(dir.path)/out, format: json }
        state: { backend: rocksdb, dir: \(dir.path)/state, memory: 64MiB }
        checkpoints: { dir: \(dir.path)/checkpoints }
        profiles:
          overrides:
            steady: { checkpoint: { interval: 300ms }, sink: { records_per_second: 2000 } }
            seasonal: { checkpoint: { interval: 300ms }, sink: { records_per_second: 2000 } }
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("run.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: streamctl)
        p.arguments = ["run", pipeline.path, "--http", "127.0.0.1:0", "--progress", "off", "--set", "batch_size=500"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let control = dir.appendingPathComponent("state/control.json")
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: control.path) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: control.path))
        // The endpoint answers while the parts are assembled; a switch needs the job itself.
        for _ in 0..<600 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.contains("running controlled with profile") { break }
            usleep(50_000)
        }

        let set = try streamctlRun(["profile", "set", pipeline.path, "seasonal", "--reason", "a test"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("\"to\":\"seasonal\""), "\(set.stdout)")
        let show = try streamctlRun(["profile", "show", pipeline.path])
        #expect(show.stdout.contains("\"profile\":\"seasonal\""), "\(show.stdout)")
        // The running profile's knobs say where they came from; `--set` holds across the switch.
        let answer = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        let knobs = Dictionary(
            ((answer?["knobs"] as? [[String: Any]]) ?? []).map { ($0["knob"] as? String ?? "", $0) },
            uniquingKeysWith: { a, _ in a })
        #expect(knobs["batch_size"]?["value"] as? String == "500")
        #expect(knobs["batch_size"]?["source"] as? String == "--set")
        #expect(knobs["checkpoint.interval"]?["source"] as? String == "pipeline override")
        #expect(knobs["checkpoint.interval"]?["place"] as? String == "\(pipeline.path):16")
        #expect((knobs["checkpoint.timeout"]?["source"] as? String).map { ["built-in", "profile file"].contains($0) } == true)
        let unknown = try streamctlRun(["profile", "set", pipeline.path, "nosuchprofile"])
        #expect(unknown.status == 2, "\(unknown.stderr)")

        let savepoint = dir.appendingPathComponent("savepoint")
        let sp = try streamctlRun(["savepoint", pipeline.path, "--dir", savepoint.path])
        #expect(sp.status == 0, "\(sp.stderr)")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: savepoint.path)) ?? []
        let chk = try #require(entries.first { $0.hasPrefix("chk-") }, "\(entries)")
        let manifest = try String(contentsOfFile: savepoint.path + "/\(chk)/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"savepoint\" : true"))

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(p.terminationStatus == 0, "\(text.suffix(1500))")
        #expect(text.contains("profile: steady → seasonal (by hand: a test)"))
        let summary = jsonLines(text).last
        #expect(summary?["profile_switches"] as? Int == 1)
        #expect(summary?["profile"] as? String == "seasonal")
    }
}
