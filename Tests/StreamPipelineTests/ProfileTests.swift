import StreamCore
import StreamPipeline
import Testing

@Suite struct ProfileTests {
    static let pipeline = """
        name: p
        schema: { shop: string, ts: timestamp }
        source:
          kafka: { brokers: embedded, topics: [t] }
        operators:
          - key_by: shop
          - window: { tumbling: 1m, aggregate: { n: count() } }
        sink:
          stdout: {}
        profiles:
          initial: backfill
          overrides:
            steady:
              parallelism: 3
              operator_parallelism: { window-1: 4 }
              checkpoint: { interval: 5s }
              sink: { records_per_second: 1000 }
        """

    @Test(arguments: ["backfill", "steady", "seasonal"])
    func shippedProfileFilesEqualTheBuiltInProfiles(_ name: String) throws {
        let profile = try ProfileLoader.load(path: Repo.path("profiles/\(name).yaml"))
        #expect(profile == Profile.builtIn[name])
    }

    @Test func overridesOfThePipelineApplyOnTopOfTheProfileFile() throws {
        let spec = try PipelineLoader.load(yaml: Self.pipeline, file: "p.yaml")
        let steady = try ProfileLoader.resolve(name: "steady", spec: spec, searchDirectories: [Repo.path("profiles")])
        var expected = Profile.builtIn["steady"]!
        expected.parallelism = 3
        expected.operatorParallelism = ["window-1": 4]
        expected.checkpointIntervalMs = 5_000
        expected.sinkRecordsPerSecond = 1_000
        #expect(steady == expected)
        #expect(steady.parallelism(of: "window-1", pinned: nil) == 4)
        #expect(steady.parallelism(of: "sink", pinned: nil) == 3)
        let backfill = try ProfileLoader.resolve(name: "backfill", spec: spec, searchDirectories: [])
        #expect(backfill == Profile.builtIn["backfill"])
    }

    @Test func userProfileFileInASearchDirectoryIsFoundAndLayeredOnDefaults() throws {
        let dir = TempDir()
        _ = dir.write("nightly.yaml", "batch_size: 16384\nwatermark: { max_drift: off }\n")
        let spec = try PipelineLoader.load(yaml: Self.pipeline, file: "p.yaml")
        let nightly = try ProfileLoader.resolve(name: "nightly", spec: spec, searchDirectories: [dir.path])
        #expect(nightly == Profile(name: "nightly", batchSize: 16_384))
        #expect(
            ProfileLoader.availableNames(searchDirectories: [dir.path]) == [
                "backfill", "nightly", "seasonal", "steady",
            ])
    }

    @Test func unknownProfileNameSuggestsTheNearestAvailable() throws {
        let spec = try PipelineLoader.load(yaml: Self.pipeline, file: "p.yaml")
        #expect(throws: PipelineErrors.self) {
            try ProfileLoader.resolve(name: "seasonl", spec: spec, searchDirectories: [])
        }
        do {
            _ = try ProfileLoader.resolve(name: "seasonl", spec: spec, searchDirectories: [])
        } catch {
            #expect(error.description == "p.yaml: error: unknown profile `seasonl`\n  help: did you mean `seasonal`?")
        }
    }

    @Test func profileFileErrorsAreAllReportedWithPositions() {
        do {
            _ = try ProfileLoader.load(yaml: Repo.fixtureText("bad-profile.yaml"), file: "Fixtures/bad-profile.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(
                error.description == """
                    Fixtures/bad-profile.yaml:2:13: error: expected an integer for `batch_size`, found `big`
                    Fixtures/bad-profile.yaml:4:3: error: unknown key `intervall` in `checkpoint`
                      help: did you mean `interval`?
                    Fixtures/bad-profile.yaml:6:21: error: invalid size `10 MB` for `sink.bytes_per_second`
                      help: accepted units: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), \
                    e.g. `64KiB`, `512MiB`, `100MB`, or a plain byte count
                    """)
        }
    }

    @Test func overrideNamingAnUnknownOperatorIsAnError() {
        let yaml = Self.pipeline.replacingOccurrences(of: "window-1: 4", with: "windw-1: 4")
        do {
            _ = try PipelineLoader.load(yaml: yaml, file: "p.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(
                error.description == """
                    p.yaml:15:31: error: unknown operator id `windw-1` in `operator_parallelism`
                      help: did you mean `window-1`?
                    """)
        }
    }
}
