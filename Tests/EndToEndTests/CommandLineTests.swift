import Foundation
import Testing

@Suite(.serialized) struct CommandLineTests {
    @Test func validateAcceptsEveryExample() throws {
        let examples = try FileManager.default.contentsOfDirectory(
            atPath: repoRoot.appendingPathComponent("examples").path
        )
        .filter { $0.hasSuffix(".yaml") }.map { "examples/" + $0 }
        #expect(examples.count >= 4)
        let r = try streamctlRun(["validate"] + examples)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == examples.count)
    }

    @Test func validateRejectsABrokenFileWithPositionAndExitCode2() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: x
        source:
          generator: { rows: 10 }
        operators:
          - keyby: shop
        sink:
          stdout: { format: json }
        """.write(to: file, atomically: true, encoding: .utf8)
        let r = try streamctlRun(["validate", file.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file.path):5:5: error: unknown operator `keyby`"))
        #expect(r.stderr.contains("did you mean `key_by`?"))
        // The offending line with a caret under the column.
        #expect(r.stderr.contains("      - keyby: shop\n        ^\n"))
    }

    @Test func jemallocIsTheProcessAllocatorAndItsStatisticsGrow() throws {
        let r = try streamctlRun(["info", "--allocate", "64MiB"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("allocator: jemalloc"))
        let allocated = r.stdout.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "allocated=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(allocated.count == 2)
        if allocated.count == 2 { #expect(allocated[1] - allocated[0] >= 64 << 20) }
    }

    @Test func graphPrintsOneNodePerOperatorWithKeyedEdges() throws {
        let r = try streamctlRun(["graph", "examples/orders.yaml"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("digraph"))
        #expect(r.stdout.contains("key_by(shop)"))
    }

    @Test func versionAndHelpWork() throws {
        let v = try streamctlRun(["--version"])
        #expect(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
        for cmd in ["validate", "graph", "run", "dev-broker"] {
            let h = try streamctlRun([cmd, "--help"])
            #expect(h.status == 0)
            #expect(h.stdout.contains("Examples:"))
        }
    }
}
