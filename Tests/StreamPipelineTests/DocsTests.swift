import Foundation
import Testing

/// The documents a new user follows name files that exist and tools that `make setup` installs.
@Suite struct DocsTests {
    /// Every `something.yaml` path a `streamctl` command line in the README or docs/ names.
    static func pipelineFilesNamedInDocs() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: Repo.path("docs")).map { "docs/\($0)" }
        var names: [String] = []
        for file in ["README.md"] + docs where file.hasSuffix(".md") {
            let text = try String(contentsOfFile: Repo.path(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("streamctl ") {
                for word in line.split(whereSeparator: { $0 == " " || $0 == "`" || $0 == "|" }) {
                    if word.hasSuffix(".yaml"), !word.hasPrefix("/"), !word.contains("*") { names.append(String(word)) }
                }
            }
        }
        return names
    }

    @Test func pipelineFilesInTheDocsCommandsExist() throws {
        let names = try Self.pipelineFilesNamedInDocs()
        #expect(names.contains("examples/orders.yaml"))
        for name in names {
            #expect(FileManager.default.fileExists(atPath: Repo.path(name)), "\(name) is named in the docs")
        }
    }

    @Test func makeSetupInstallsGraphvizForTheGraphCommand() throws {
        let makefile = try String(contentsOfFile: Repo.path("Makefile"), encoding: .utf8)
        let line = makefile.split(separator: "\n").first { $0.hasPrefix("DEB_PKGS") }
        #expect(line?.contains("graphviz") == true)
    }

    @Test func expressionReferenceListsEveryFunction() throws {
        let text = try String(contentsOfFile: Repo.path("docs/expressions.md"), encoding: .utf8)
        for f in [
            "lower", "upper", "concat", "substring", "length", "date_trunc", "format", "extract", "cast", "abs",
            "round", "coalesce",
        ] {
            #expect(text.contains("`\(f)("), "\(f) is not documented")
        }
    }

    @Test func configurationReferenceCoversWhatNewUsersMissed() throws {
        let text = try String(contentsOfFile: Repo.path("docs/configuration.md"), encoding: .utf8)
        for phrase in [
            "streamctl.connect.timeout.ms", "`%j` (day of the year", "aligned to the epoch", "half-to-even",
            "unit: s", "a record whose quoted value spans lines becomes two bad records", "raw_base64",
            "event_time.max_ahead", "event_time.max_late_share",
        ] {
            #expect(text.contains(phrase), "configuration.md lacks \(phrase)")
        }
    }
}
