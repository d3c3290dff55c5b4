import Foundation
import Testing

@Suite struct ProfilesCommandTests {
    @Test func profilesShowPrintsEveryKnobWithItsValueAndWhereItCameFrom() throws {
        let r = try streamctlRun([
            "profiles", "show", "examples/orders.yaml", "--profile", "backfill", "--set", "checkpoint.interval=30s",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "profile backfill")
        func row(_ knob: String) -> String? { lines.first { $0.hasPrefix(knob + " ") } }
        #expect(row("checkpoint.interval")?.contains(" 30s ") == true)
        // Durations and sizes are spelled as in a profile file, so they can be typed back.
        #expect(row("checkpoint.timeout")?.contains(" 30m ") == true)
        #expect(row("kafka.fetch_max_bytes")?.contains(" 100MiB ") == true)
        #expect(row("sink.batch_bytes")?.contains(" 1MB ") == true)
        #expect(row("checkpoint.interval")?.hasSuffix("  --set") == true)
        // examples/orders.yaml overrides backfill's parallelism on its line 57; profiles/backfill.yaml sets the rest.
        #expect(row("parallelism")?.hasSuffix("pipeline override examples/orders.yaml:57") == true)
        #expect(row("checkpoint.timeout")?.contains("profile file profiles/backfill.yaml:") == true)
        #expect(row("kafka.fetch_wait_max")?.contains("500ms") == true)
        #expect(lines.count == 2 + 20)
    }

    @Test func profilesShowJSONHasOneEntryPerKnob() throws {
        let r = try streamctlRun(["profiles", "show", "examples/orders.yaml", "--json", "--set", "sink.linger=1ms"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["profile"] as? String == "steady")
        let knobs = object?["knobs"] as? [[String: Any]] ?? []
        #expect(knobs.count == 20)
        let linger = knobs.first { $0["knob"] as? String == "sink.linger" }
        #expect(linger?["value"] as? String == "1ms")
        #expect(linger?["source"] as? String == "--set")
        let batch = knobs.first { $0["knob"] as? String == "batch_size" }
        #expect(batch?["source"] as? String == "profile file")
        #expect((batch?["place"] as? String)?.hasSuffix("profiles/steady.yaml:10") == true)
    }

    @Test func runWithAnUnknownSetKnobExits2NamingItAndTheValidKnobs() throws {
        let r = try streamctlRun(["run", "examples/stdout.yaml", "--set", "checkpoint.intervl=30s"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--set checkpoint.intervl=30s: error: unknown knob `checkpoint.intervl`"))
        #expect(r.stderr.contains("help: did you mean `checkpoint.interval`? knobs: parallelism,"))
        #expect(r.stdout.isEmpty)
    }

    @Test func setOfAnUnknownOperatorsParallelismExits2ListingTheIds() throws {
        let r = try streamctlRun(["profiles", "show", "examples/orders.yaml", "--set", "operator_parallelism.hourli=3"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--set operator_parallelism.hourli: error: unknown operator id `hourli`"), "\(r.stderr)")
        #expect(r.stderr.contains("help: did you mean `hourly`?"))
    }

    @Test func runWithABadSetValueExits2WithTheExpectedForm() throws {
        let r = try streamctlRun(["run", "examples/stdout.yaml", "--set", "flush_latency=fast"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--set flush_latency=fast: error: invalid duration `fast` for `flush_latency`"))
        #expect(r.stderr.contains("help: write a whole number followed by a unit"))
    }

    @Test func runTakesSetValuesIntoTheProfileItRuns() throws {
        // batch_size=7: the generator's 1000 rows arrive in batches of at most 7; the output is the same.
        let plain = try streamctlRun(["run", "examples/stdout.yaml"])
        let set = try streamctlRun(["run", "examples/stdout.yaml", "--set", "batch_size=7", "--set", "parallelism=3"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(Set(set.stdout.split(separator: "\n")) == Set(plain.stdout.split(separator: "\n")))
        #expect(!plain.stdout.isEmpty)
        #expect(set.stderr.contains("parallelism 3"))
    }
}
