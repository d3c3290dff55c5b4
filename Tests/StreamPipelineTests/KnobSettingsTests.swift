import StreamCore
import StreamPipeline
import Testing

@Suite struct KnobSettingsTests {
    @Test func setValuesUseTheProfileFileUnitsAndApplyOverTheProfile() throws {
        let s = try KnobSettings.parse([
            "checkpoint.interval=30s", "kafka.fetch_max_bytes=2MiB", "sink.records_per_second=unlimited",
            "checkpoint.incremental=false", "operator_parallelism.window-1=3", "kafka.fetch_wait_max=5ms",
            "watermark.max_drift=off", "parallelism=4",
        ])
        let p = s.apply(to: Profile.builtIn["seasonal"]!)
        #expect(p.checkpointIntervalMs == 30_000)
        #expect(p.kafkaFetchMaxBytes == 2 << 20)
        #expect(p.sinkRecordsPerSecond == nil)
        #expect(p.checkpointIncremental == false)
        #expect(p.operatorParallelism == ["window-1": 3])
        #expect(p.kafkaFetchWaitMaxMs == 5)
        #expect(p.watermarkMaxDriftMs == nil)
        #expect(p.parallelism == 4)
        #expect(
            s.setKnobs == [
                "checkpoint.interval", "kafka.fetch_max_bytes", "sink.records_per_second", "checkpoint.incremental",
                "operator_parallelism", "kafka.fetch_wait_max", "watermark.max_drift", "parallelism",
            ])
    }

    @Test func unknownKnobIsAnErrorNamingItWithTheNearestAndEveryValidKnob() {
        #expect {
            try KnobSettings.parse(["checkpoint.intervl=30s"])
        } throws: { error in
            let e = (error as? PipelineErrors)?.errors.first
            return e?.file == "--set checkpoint.intervl=30s" && e?.message == "unknown knob `checkpoint.intervl`"
                && e?.help?.hasPrefix("did you mean `checkpoint.interval`? knobs: parallelism, ") == true
                && e?.help?.contains("sink.linger") == true
        }
    }

    @Test func badValueNamesTheKnobAndTheExpectedForm() {
        #expect {
            try KnobSettings.parse(["batch_size=64", "checkpoint.interval=soon"])
        } throws: { error in
            let e = (error as? PipelineErrors)?.errors
            return e?.count == 1 && e?.first?.file == "--set checkpoint.interval=soon"
                && e?.first?.message == "invalid duration `soon` for `checkpoint.interval`"
                && e?.first?.help?.contains("10s") == true
        }
        #expect(throws: PipelineErrors.self) { try KnobSettings.parse(["checkpoint.interval"]) }
        #expect(throws: PipelineErrors.self) { try KnobSettings.parse(["batch_size=0"]) }
        #expect(throws: PipelineErrors.self) { try KnobSettings.parse(["batch_size=1", "batch_size=2"]) }
        // `off` only where a profile file accepts it.
        #expect(throws: PipelineErrors.self) { try KnobSettings.parse(["checkpoint.interval=off"]) }
    }

    @Test func everyKnobOfAResolvedProfileSaysWhereItCameFrom() throws {
        let dir = TempDir()
        let profileFile = dir.write("steady.yaml", "# steady\nbatch_size: 512\ncheckpoint:\n  timeout: 2m\n")
        let pipeline = dir.write(
            "p.yaml",
            """
            name: p
            schema: { shop: string, ts: timestamp }
            source:
              kafka: { brokers: embedded, topics: [t] }
            sink:
              stdout: {}
            profiles:
              overrides:
                steady:
                  checkpoint: { interval: 5s }
                  sink:
                    max_open: 8
            """)
        let spec = try PipelineLoader.load(path: pipeline)
        let settings = try KnobSettings.parse(["checkpoint.interval=30s", "flush_latency=10ms"])
        let p = try ProfileLoader.resolveSourced(
            name: "steady", spec: spec, searchDirectories: [dir.path], settings: settings)
        #expect(p.profile.batchSize == 512)
        #expect(p.profile.checkpointTimeoutMs == 120_000)
        #expect(p.profile.sinkMaxOpen == 8)
        #expect(p.profile.checkpointIntervalMs == 30_000)
        #expect(p.profile.flushLatencyMs == 10)
        #expect(p.sources["batch_size"] == .profileFile(path: profileFile, line: 2))
        #expect(p.sources["checkpoint.timeout"] == .profileFile(path: profileFile, line: 4))
        #expect(p.sources["sink.max_open"] == .pipeline(file: pipeline, line: 12))
        #expect(p.sources["checkpoint.interval"] == .commandLine)
        #expect(p.sources["flush_latency"] == .commandLine)
        #expect(p.sources["parallelism"] == nil)
        let rows = Dictionary(uniqueKeysWithValues: p.rows.map { ($0.knob, $0) })
        #expect(rows["parallelism"]?.source == .builtIn)
        #expect(rows["checkpoint.interval"]?.value == "30s")
        #expect(rows.count == Profile(name: "x").knobs.count)
        #expect(KnobSource.pipeline(file: "p.yaml", line: 12).description == "pipeline override p.yaml:12")
    }
}
