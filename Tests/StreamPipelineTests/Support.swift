import Foundation
import StreamCore
import StreamPipeline

/// Paths inside the repository, found from this file's location so tests need no bundled resources.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func path(_ relative: String) -> String { "\(root)/\(relative)" }

    static func fixtureText(_ name: String) -> String {
        (try? String(contentsOfFile: path("Tests/StreamPipelineTests/Fixtures/\(name)"), encoding: .utf8)) ?? ""
    }

    /// The errors of a fixture, loaded under the stable name `Fixtures/NAME` so messages can be compared exactly.
    static func errors(ofFixture name: String) -> [PipelineError] {
        do {
            _ = try PipelineLoader.load(yaml: fixtureText(name), file: "Fixtures/\(name)")
            return []
        } catch {
            return error.errors
        }
    }

    /// Whether the expression language goes beyond bare field names (it compiles `1 > 0`).
    static var expressionsHaveOperators: Bool {
        (try? Expressions.typeCheck("1 > 0", schema: Schema([]))) != nil
    }
}

/// A scratch directory removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "streampipeline-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func write(_ name: String, _ text: String) -> String {
        let p = "\(path)/\(name)"
        try? text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
