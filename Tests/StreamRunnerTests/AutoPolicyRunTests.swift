import Foundation
import StreamCore
import StreamKafka
import StreamPipeline
import Synchronization
import Testing

@testable import StreamRunner

/// Runner time that moves only when the test says: the policy looks once per second of it.
final class SteppedClock: StreamClock {
    private let ns = Atomic<UInt64>(1_000_000_000)
    let wallStartMs = SystemClock().nowMs()
    func nowMs() -> Int64 { wallStartMs + Int64((ns.load(ordering: .acquiring) - 1_000_000_000) / 1_000_000) }
    func monotonicNs() -> UInt64 { ns.load(ordering: .acquiring) }
    func advance(ms: Int64) { ns.add(UInt64(ms) * 1_000_000, ordering: .releasing) }
}

/// `profiles.auto` on the embedded broker: a backlog is read in backfill, the caught-up job moves to steady,
/// a burst produced while live moves it to seasonal, and calm brings it back to steady — each switch no
/// sooner than the dwell time after the one before. Time is the test's: it steps the runner's clock one
/// second at a time, and only after the job has read everything produced so far (no sleep decides anything).
@Suite(.serialized) struct AutoPolicyRunTests {
    func yaml(_ dir: URL) -> String {
        """
        name: auto
        schema: { id: int64, shop: string, amount: int64 }
        source:
          kafka: { brokers: embedded, topics: [orders], group: g, start_from: earliest, assignment: static }
          format: json
        operators:
          - filter: "amount > 10"
        sink:
          file: { path: \(dir.path)/out, format: json }
        profiles:
          initial: backfill
          auto: { backfill_above_lag: 20000, steady_below_lag: 100, seasonal_above_rate: 5000, min_dwell: 10s }
        """
    }

    @Test func backlogBackfillThenSteadyThenBurstSeasonalThenSteadyWithTheDwellKept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auto-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broker = try EmbeddedBroker()
        try broker.createTopic("orders", partitions: 4)
        let orders = RowProducer(broker: broker, topic: "orders", partitions: 4) {
            "{\"id\":\($0),\"shop\":\"s\($0 % 7)\",\"amount\":\($0 % 50)}"
        }
        var produced: Int { orders.produced }
        func produce(_ n: Int) throws { try orders.produce(n) }
        try produce(50_000)  // the backlog

        let spec = try PipelineLoader.load(yaml: yaml(dir), file: "auto.yaml")
        let clock = SteppedClock()
        var backfill = Profile.builtIn["backfill"]!
        backfill.parallelism = 2
        var options = RunOptions(bindArenas: false)
        options.superviseEveryMs = 5
        let runner = JobRunner(spec: spec, profile: backfill, options: options, clock: clock)
        runner.broker = broker
        try runner.start()
        let supervisor = Thread { _ = runner.wait() }
        supervisor.start()
        defer {
            runner.requestStop()
            while !supervisor.isFinished { usleep(1_000) }
        }

        // One second of runner time: the rows of this second are produced and read first, then the clock
        // moves and the test waits for the policy's look (and any switch it made) to finish.
        var second = 0
        var switchedAt: [Int] = []
        func step(producing n: Int) throws {
            if n > 0 { try produce(n) }
            let deadline = Date().addingTimeInterval(60)
            while (runner.job?.rowsReadTotal ?? 0) < produced, Date() < deadline { usleep(1_000) }
            #expect((runner.job?.rowsReadTotal ?? 0) == produced)
            let looks = runner.policyLookCount
            let before = runner.switches.count
            clock.advance(ms: 1_000)
            second += 1
            while runner.policyLookCount == looks, Date() < deadline { usleep(1_000) }
            if runner.switches.count > before { switchedAt.append(second) }
        }
        // Backfill reads the backlog; the first look sees 50,000 rows in its second, lag 0. Dwell: 10 s.
        for _ in 0..<12 { try step(producing: 0) }
        for _ in 0..<12 { try step(producing: 200) }  // steady, live: 200 rows/s
        try step(producing: 8_000)  // a burst: 8,000 rows in one second
        for _ in 0..<14 { try step(producing: 200) }  // calm again

        let switches = runner.switches
        #expect(switches.map(\.to) == ["steady", "seasonal", "steady"])
        #expect(switches.map(\.from) == ["backfill", "steady", "seasonal"])
        #expect(switches.first?.reason == "auto: caught up: lag 0 rows is below steady_below_lag 100")
        #expect(switches.dropFirst().first?.reason == "auto: input 8000 rows/s is above seasonal_above_rate 5000")
        #expect(switches.last?.reason.hasPrefix("auto: the burst subsided: input 200 rows/s") == true)
        // The first switch waits out backfill's dwell from the start; each later one the dwell after the last.
        #expect(switchedAt.count == 3)
        if switchedAt.count == 3 {
            #expect(switchedAt[0] == 10)
            #expect(switchedAt[1] == 25)  // the burst's second; steady's dwell had passed
            #expect(switchedAt[2] == 35)  // ten seconds of seasonal, calm
        }
        #expect(runner.job?.live.current.name == "steady")
    }
}
