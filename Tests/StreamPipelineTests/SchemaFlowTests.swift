import StreamCore
import StreamPipeline
import Testing

/// The schema is tracked through the operators: later references are checked against what reaches them.
@Suite struct SchemaFlowTests {
    func load(_ operators: String, sink: String = "stdout: {}") -> (PipelineSpec?, String) {
        let yaml = """
            name: p
            schema: { order_id: int64, shop: string, amount: decimal(2), ts: timestamp }
            source:
              file: { paths: ["\(Repo.path("examples/data/orders-sample.jsonl"))"] }
              event_time: { field: ts }
            operators:
            \(operators)
            sink:
              \(sink)
            """
        do {
            return (try PipelineLoader.load(yaml: yaml, file: "p.yaml"), "")
        } catch {
            return (nil, error.description)
        }
    }

    @Test func selectListKeepsOnlyItsFields() {
        let (_, message) = load("  - select: [shop, amount]\n  - key_by: order_id")
        #expect(
            message == """
                p.yaml:8:13: error: unknown field `order_id` in `key_by`
                  help: fields here: `shop`, `amount`
                """)
    }

    @Test func runningAggregateOutputsKeyFieldsAndAggregates() {
        let (spec, message) = load(
            "  - key_by: shop\n  - aggregate: { aggregate: { total: sum(amount) }, ttl: 7d }",
            sink: "kafka: { brokers: embedded, topic: out, key: total }")
        #expect(message == "")
        #expect(
            spec?.operators.last?.kind
                == .runningAggregate(
                    aggregates: [
                        AggregateSpec(
                            name: "total", function: .sum, field: "amount",
                            at: SourceLocation(line: 8, column: 38))
                    ],
                    ttlMs: 604_800_000))
        let (_, bad) = load(
            "  - key_by: shop\n  - aggregate: { aggregate: { total: sum(amount) } }",
            sink: "kafka: { brokers: embedded, topic: out, key: amount }")
        #expect(
            bad == """
                p.yaml:10:48: error: unknown field `amount` in `sink.kafka.key`
                  help: fields here: `shop`, `total`
                """)
    }

    @Test func dedupeKeepsTheSchemaAndNeedsAKey() {
        let (spec, message) = load("  - dedupe: { key: [order_id], ttl: 1h }\n  - key_by: shop")
        #expect(message == "")
        #expect(spec?.operators.map(\.id) == ["dedupe-1", "key_by-1"])
        let (_, bad) = load("  - dedupe: { ttl: 1h }")
        #expect(
            bad == """
                p.yaml:7:5: error: `dedupe` needs a key
                  help: add `key: [order_id]` to it, or put a `key_by` before it
                """)
    }

    @Test func slidingAndSessionWindowsAreRead() {
        let (spec, message) = load(
            """
              - key_by: shop
              - window: { sliding: { size: 1h, slide: 15m }, aggregate: { n: count() }, allowed_lateness: 1m }
                id: sliding
              - window: { session: { gap: 30m }, aggregate: { m: max(n) } }
            """)
        #expect(message == "")
        guard case .window(let w)? = spec?.operators[1].kind, case .window(let s)? = spec?.operators[2].kind else {
            Issue.record("expected two windows")
            return
        }
        #expect(w.kind == .sliding(sizeMs: 3_600_000, slideMs: 900_000))
        #expect(w.allowedLatenessMs == 60_000)
        #expect(s.kind == .session(gapMs: 1_800_000))
    }

    @Test func duplicateOperatorIdIsAnError() {
        let (_, message) = load("  - key_by: shop\n    id: a\n  - dedupe: { ttl: 1h }\n    id: a")
        #expect(
            message == """
                p.yaml:10:9: error: duplicate operator id `a`
                  help: operator ids name their state; give this one another `id:`
                """)
    }
}
