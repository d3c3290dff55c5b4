import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing

/// `streamctl smoke`: the examples against the expectations kept in the repository, and a wrong expectation.
@Suite struct SmokeTests {
    @Test func ordersExampleMatchesItsExpectationAndWritesPassingJUnit() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        // A copy of the example whose state and output stay in the temporary directory.
        let yaml = try String(contentsOf: repoRoot.appendingPathComponent("examples/orders.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "out/", with: dir.path + "/out/")
            .replacingOccurrences(of: "./state/", with: dir.path + "/state/")
            .replacingOccurrences(of: "./checkpoints/", with: dir.path + "/checkpoints/")
        let pipeline = dir.appendingPathComponent("orders.yaml")
        try yaml.write(to: pipeline, atomically: true, encoding: .utf8)
        let junit = dir.appendingPathComponent("smoke.xml")
        let r = try streamctlRun([
            "smoke", pipeline.path, "--data", "examples/data/orders-sample.jsonl", "--expect",
            "examples/expected/orders.jsonl", "--junit", junit.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("ok (11 rows as expected)"))
        let xml = try XMLDocument(contentsOf: junit)
        let suite = try #require(try xml.nodes(forXPath: "/testsuites/testsuite").first as? XMLElement)
        #expect(suite.attribute(forName: "tests")?.stringValue == "1")
        #expect(suite.attribute(forName: "failures")?.stringValue == "0")
        #expect(try xml.nodes(forXPath: "//testcase/failure").isEmpty)
    }

    @Test func wrongExpectationExits8WithADiffAndAFailingJUnitCase() throws {
        let dir = try temporaryDirectory()
        defer { cleanup(dir) }
        var expected = try String(
            contentsOf: repoRoot.appendingPathComponent("examples/expected/stdout.jsonl"), encoding: .utf8
        ).split(separator: "\n").map(String.init)
        let dropped = expected.removeFirst()
        expected.append(#"{"order_id":-1,"shop":"nowhere","amount":0.00}"#)
        let expect = dir.appendingPathComponent("expected.jsonl")
        try expected.joined(separator: "\n").write(to: expect, atomically: true, encoding: .utf8)
        let junit = dir.appendingPathComponent("smoke.xml")
        let r = try streamctlRun([
            "smoke", "examples/stdout.yaml", "--expect", expect.path, "--junit", junit.path,
        ])
        #expect(r.status == 8, "\(r.stderr)")
        #expect(r.stderr.contains("(1 missing, 1 unexpected)"))
        #expect(r.stderr.contains(#"- {"order_id":-1,"shop":"nowhere","amount":0.00}"#))
        #expect(r.stderr.contains("+ " + dropped))
        let xml = try XMLDocument(contentsOf: junit)
        let failure = try #require(try xml.nodes(forXPath: "//testcase/failure").first as? XMLElement)
        #expect(failure.attribute(forName: "message")?.stringValue?.contains("output differs") == true)
        #expect(failure.stringValue?.contains("nowhere") == true)
    }
}
