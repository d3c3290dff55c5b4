import StreamCore
import StreamPipeline
import Testing

/// One broken fixture per kind of mistake; each message is compared in full, position and help included.
@Suite struct ValidationErrorTests {
    func expectOnly(_ fixture: String, _ expected: String) {
        let errors = Repo.errors(ofFixture: fixture)
        #expect(errors.count == 1)
        #expect(PipelineErrors(errors).description == expected)
    }

    @Test func unknownKeySuggestsTheNearestKey() {
        expectOnly(
            "unknown-key.yaml",
            """
            Fixtures/unknown-key.yaml:13:22: error: unknown key `rol_size` in `sink.file`
              help: did you mean `roll_size`?
            """)
    }

    @Test func wrongTypeNamesWhatWasExpectedAndFound() {
        expectOnly(
            "wrong-type.yaml",
            "Fixtures/wrong-type.yaml:13:11: error: expected an integer for `checkpoints.retain`, found `abc`")
    }

    @Test func missingRequiredKeyPointsAtTheMappingThatLacksIt() {
        expectOnly(
            "missing-key.yaml",
            "Fixtures/missing-key.yaml:6:5: error: missing required key `topics` in `source.kafka`")
    }

    @Test func unknownFieldInKeyBySuggestsTheDeclaredField() {
        expectOnly(
            "unknown-field.yaml",
            """
            Fixtures/unknown-field.yaml:11:13: error: unknown field `shopp` in `key_by`
              help: did you mean `shop`?
            """)
    }

    @Test func bucketTemplateIsCheckedAgainstTheWindowOutputSchema() {
        expectOnly(
            "window-output-field.yaml",
            """
            Fixtures/window-output-field.yaml:14:37: error: unknown field `ts` in bucket template
              help: fields here: `shop`, `window_start`, `window_end`, `orders`
            """)
    }

    @Test func badDurationListsTheAcceptedUnits() {
        expectOnly(
            "bad-duration.yaml",
            """
            Fixtures/bad-duration.yaml:12:25: error: invalid duration `1hour` for `window.tumbling`
              help: write a whole number followed by a unit: ms, s, m, h, d (e.g. `250ms`, `10s`, `5m`, `1h30m`)
            """)
    }

    @Test func badSizeListsTheAcceptedUnits() {
        expectOnly(
            "bad-size.yaml",
            """
            Fixtures/bad-size.yaml:14:11: error: invalid size `1.5GiB` for `state.memory`
              help: accepted units: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), \
            e.g. `64KiB`, `512MiB`, `100MB`, or a plain byte count
            """)
    }

    @Test func unknownProfileSuggestsABuiltInOne() {
        expectOnly(
            "unknown-profile.yaml",
            """
            Fixtures/unknown-profile.yaml:13:12: error: unknown profile `stedy`
              help: did you mean `steady`?
            """)
    }

    @Test func unknownOperatorSuggestsKeyBy() {
        expectOnly(
            "unknown-operator.yaml",
            """
            Fixtures/unknown-operator.yaml:11:5: error: unknown operator `keyby`
              help: did you mean `key_by`?
            """)
    }

    @Test func unknownFieldTypeSuggestsTheNearestType() {
        expectOnly(
            "unknown-type.yaml",
            """
            Fixtures/unknown-type.yaml:3:9: error: unknown field type `strng` for `shop`
              help: did you mean `string`?
            """)
    }

    @Test func unknownAggregateFunctionSuggestsSum() {
        expectOnly(
            "unknown-aggregate.yaml",
            """
            Fixtures/unknown-aggregate.yaml:12:51: error: unknown aggregate function `summ` in `revenue`
              help: did you mean `sum`?
            """)
    }

    @Test func expressionErrorPointsAtTheFieldInsideTheExpression() {
        let errors = Repo.errors(ofFixture: "expression-field.yaml")
        #expect(errors.count == 1)
        #expect(errors.first.map { "\($0.file):\($0.line):\($0.column)" } == "Fixtures/expression-field.yaml:11:13")
        #expect(errors.first?.message.contains("amonut") == true)
    }

    @Test func windowWithoutKeyByAsksForOne() {
        expectOnly(
            "window-without-key.yaml",
            """
            Fixtures/window-without-key.yaml:11:5: error: `window` needs keyed input
              help: put a `key_by` before it, e.g. `- key_by: shop`
            """)
    }

    @Test func deadLetterPolicyNeedsAPath() {
        expectOnly(
            "dead-letter-without-path.yaml",
            """
            Fixtures/dead-letter-without-path.yaml:6:18: error: `on_bad_record: dead_letter` needs \
            `source.dead_letter_path`
              help: add `dead_letter_path: bad-records.jsonl` beside it
            """)
    }

    @Test func yamlSyntaxErrorHasAPosition() {
        expectOnly(
            "invalid-yaml.yaml",
            """
            Fixtures/invalid-yaml.yaml:4:1: error: invalid YAML: did not find expected ',' or '}'
              help: while parsing a flow mapping at 3:10
            """)
    }

    @Test func everyErrorOfAFileIsReportedInFileOrder() {
        let errors = Repo.errors(ofFixture: "several-errors.yaml")
        #expect(errors.map { "\($0.line):\($0.column)" } == ["8:49", "9:42", "11:13", "13:55", "15:61", "17:11"])
        let withoutExpression = errors.filter { $0.line != 11 }
        #expect(
            PipelineErrors(withoutExpression).description == """
                Fixtures/several-errors.yaml:8:49: error: unknown key `start_form` in `source.kafka`
                  help: did you mean `start_from`?
                Fixtures/several-errors.yaml:9:42: error: invalid duration `5` for `source.event_time.max_disorder`
                  help: write a whole number followed by a unit: ms, s, m, h, d (e.g. `250ms`, `10s`, `5m`, `1h30m`)
                Fixtures/several-errors.yaml:13:55: error: `sum` needs a numeric field, but `shop` is string
                  help: numeric types are `int64`, `double` and `decimal`
                Fixtures/several-errors.yaml:15:61: error: unknown field `order_id` in bucket template
                  help: fields here: `shop`, `window_start`, `window_end`
                Fixtures/several-errors.yaml:17:11: error: `checkpoints.retain` must be at least 1, found `0`
                """)
    }

    @Test func unreadableFileIsReportedWithoutAPosition() {
        #expect(throws: PipelineErrors.self) { try PipelineLoader.load(path: "/nonexistent/pipeline.yaml") }
        do {
            _ = try PipelineLoader.load(path: "/nonexistent/pipeline.yaml")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/pipeline.yaml: error: cannot read the pipeline file"))
        }
    }
}
