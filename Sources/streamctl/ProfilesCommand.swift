import ArgumentParser
import Foundation
import StreamCore
import StreamPipeline

/// `streamctl profiles show`: the effective value of every knob of a profile for a pipeline, and where it came
/// from — without running anything.
struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a pipeline's profiles as they resolve: every knob, its value and where it came from.",
        discussion: """
            Examples:
              streamctl profiles show examples/orders.yaml
              streamctl profiles show examples/orders.yaml --profile backfill \\
                --set checkpoint.interval=30s --json

            Sources, lowest first: built-in, profile file (path:line), pipeline
            override (file:line), --set. A running job: `streamctl profile show`.
            """,
        subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every knob of a profile with its effective value and its source.")

        @Argument(help: "Pipeline file (YAML).")
        var file: String

        @Option(help: "Profile to resolve (default: the pipeline's initial profile).")
        var profile: String?

        @Option(name: .customLong("set"), parsing: .singleValue, help: "KNOB=VALUE over the profile, as `run --set`.")
        var settings: [String] = []

        @Flag(help: "One JSON object instead of the table.")
        var json = false

        func run() throws {
            let shown: SourcedProfile
            do throws(PipelineErrors) {
                let settings = try KnobSettings.parse(settings)
                let (spec, p) = try PipelineLoader.loadResolved(path: file, profile: profile)
                shown = try ProfileLoader.resolveSourced(
                    name: p.name, spec: spec, searchDirectories: ProfileLoader.defaultSearchDirectories(pipelineFile: file),
                    settings: settings)
            } catch {
                log(error.rendered)
                throw ExitCode(Exit.config.rawValue)
            }
            print(json ? Self.json(shown) : Self.table(shown))
        }

        static func table(_ p: SourcedProfile) -> String {
            let rows = p.rows
            let knobWidth = max(4, rows.map(\.knob.count).max() ?? 0)
            let valueWidth = max(5, rows.map(\.value.count).max() ?? 0)
            func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
            var lines = ["profile \(p.profile.name)", pad("knob", knobWidth) + "  " + pad("value", valueWidth) + "  source"]
            for r in rows { lines.append(pad(r.knob, knobWidth) + "  " + pad(r.value, valueWidth) + "  \(r.source)") }
            return lines.joined(separator: "\n")
        }

        struct Answer: Encodable {
            struct Knob: Encodable {
                var knob: String
                var value: String
                var source: String
                var place: String?
            }
            var profile: String
            var knobs: [Knob]
        }

        static func json(_ p: SourcedProfile) -> String {
            let answer = Answer(
                profile: p.profile.name,
                knobs: p.rows.map { .init(knob: $0.knob, value: $0.value, source: $0.source.kind, place: $0.source.place) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(answer)) ?? Data(), as: UTF8.self)
        }
    }
}
