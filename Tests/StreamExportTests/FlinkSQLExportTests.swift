import Foundation
import StreamCore
import StreamPipeline
import Testing

@testable import StreamExport

@Suite struct FlinkSQLExportTests {
    static let hourly = """
          - key_by: shop
          - window:
              tumbling: 1h
              aggregate: { orders: count(), revenue: sum(amount), top: max(amount), mean: avg(amount) }
            id: hourly
        """

    @Test func kafkaSourceTableCarriesTopicBrokersGroupStartTypesAndWatermark() throws {
        let sql = try export(ordersPipeline(operators: Self.hourly))
        #expect(sql.contains("CREATE TABLE `source` (\n  `order_id` BIGINT NOT NULL,\n  `shop` STRING NOT NULL,"))
        #expect(sql.contains("`amount` DECIMAL(18, 2) NOT NULL,\n  `ts` TIMESTAMP_LTZ(3) NOT NULL,"))
        #expect(sql.contains("WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND\n) WITH ("))
        #expect(sql.contains("'connector' = 'kafka',\n  'topic' = 'orders',"))
        #expect(sql.contains("'properties.bootstrap.servers' = 'k1:9092,k2:9092',\n  'properties.group.id' = 'g1',"))
        #expect(sql.contains("'scan.startup.mode' = 'earliest-offset'"))
        #expect(sql.contains("'format' = 'json',\n  'json.timestamp-format.standard' = 'ISO-8601'"))
    }

    @Test func startPositionsAndPropertiesMapToKafkaConnectorOptions() throws {
        let committed = """
              kafka:
                brokers: b:9092
                topics: [a, b]
                start_from: committed
                properties: { security.protocol: SASL_SSL, streamctl.connect.timeout.ms: "500" }
              event_time: { max_disorder: 2s }
            """
        let sql = try export(ordersPipeline(operators: Self.hourly, source: committed))
        #expect(sql.contains("'topic' = 'a;b'"))
        #expect(sql.contains("'scan.startup.mode' = 'group-offsets',\n  'properties.auto.offset.reset' = 'earliest'"))
        #expect(sql.contains("'properties.security.protocol' = 'SASL_SSL'"))
        #expect(!sql.contains("streamctl.connect"))
        // No event-time field: windows run on the message timestamp, read as metadata.
        #expect(sql.contains("`kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'"))
        #expect(sql.contains("WATERMARK FOR `kafka_timestamp` AS `kafka_timestamp` - INTERVAL '2' SECOND"))
        #expect(sql.contains("DESCRIPTOR(`kafka_timestamp`)"))

        let atTime = try export(
            ordersPipeline(
                operators: Self.hourly,
                source: """
                      kafka: { brokers: b:9092, topics: [a], start_from: "2026-11-27T00:00:00Z" }
                      event_time: { field: ts }
                    """))
        #expect(
            atTime.contains("'scan.startup.mode' = 'timestamp',\n  'scan.startup.timestamp-millis' = '1795737600000'"))
    }

    @Test func profileKnobsBecomeSetStatements() throws {
        let steady = try export(ordersPipeline(operators: Self.hourly))
        for line in [
            "SET 'table.local-time-zone' = 'UTC';", "SET 'pipeline.generic-types' = 'false';",
            "SET 'parallelism.default' = '1';", "SET 'execution.checkpointing.interval' = '10000 ms';",
            "SET 'execution.checkpointing.timeout' = '60000 ms';",
            "SET 'execution.checkpointing.min-pause' = '0 ms';",
            "SET 'execution.checkpointing.incremental' = 'true';", "SET 'state.backend.type' = 'hashmap';",
            "SET 'scan.watermark.alignment.max-drift'",
        ] where !line.contains("alignment") {
            #expect(steady.contains(line), "\(line)")
        }
        // steady aligns watermarks within 1 minute; backfill does not align.
        #expect(steady.contains("'scan.watermark.alignment.max-drift' = '60000 ms'"))
        let backfill = try export(ordersPipeline(operators: Self.hourly), profile: "backfill")
        #expect(backfill.contains("SET 'parallelism.default' = '2';"))
        #expect(backfill.contains("SET 'execution.checkpointing.interval' = '600000 ms';"))
        #expect(backfill.contains("SET 'execution.checkpointing.timeout' = '1800000 ms';"))
        #expect(!backfill.contains("alignment"))
    }

    @Test func rocksdbStateAndPinnedParallelismAreSetOrStated() throws {
        let yaml =
            ordersPipeline(operators: Self.hourly + "\n    parallelism: 3")
            + "\nstate: { backend: rocksdb, dir: ./state/t, memory: 256MiB }\n"
        let sql = try export(yaml)
        #expect(sql.contains("SET 'state.backend.type' = 'rocksdb';"))
        #expect(sql.contains("SET 'execution.checkpointing.incremental' = 'true';"))
        #expect(sql.contains("-- differs: Flink SQL sets parallelism per source and sink only; operators hourly=3"))
    }

    @Test func windowsBecomeTumbleHopAndSessionTableFunctions() throws {
        let tumble = try export(ordersPipeline(operators: Self.hourly))
        let expected1: String =
            "SELECT `shop`, CAST(window_start AS TIMESTAMP_LTZ(3)) AS window_start, "
            + "CAST(window_end AS TIMESTAMP_LTZ(3)) AS window_end, COUNT(*) AS `orders`, "
            + "CAST(SUM(`amount`) AS DECIMAL(18, 2)) AS `revenue`, MAX(`amount`) AS `top`, "
            + "AVG(CAST(`amount` AS DOUBLE)) AS `mean`\n"
            + "FROM TABLE(TUMBLE(TABLE `source`, DESCRIPTOR(`ts`), INTERVAL '1' HOUR))\n"
            + "GROUP BY `shop`, window_start, window_end;"
        #expect(tumble.contains(expected1))
        let hop = try export(
            ordersPipeline(
                operators: """
                      - key_by: [shop, customer]
                      - window: { sliding: { size: 10m, slide: 90s }, aggregate: { n: count() } }
                    """))
        #expect(
            hop.contains(
                "FROM TABLE(HOP(TABLE `source`, DESCRIPTOR(`ts`), INTERVAL '90' SECOND, INTERVAL '10' MINUTE))"))
        #expect(hop.contains("GROUP BY `shop`, `customer`, window_start, window_end;"))
        let session = try export(
            ordersPipeline(
                operators: """
                      - key_by: customer
                      - window: { session: { gap: 30m }, aggregate: { n: count() }, allowed_lateness: 1m }
                    """))
        let expected2: String =
            "FROM TABLE(SESSION(TABLE `source` PARTITION BY `customer`, DESCRIPTOR(`ts`), INTERVAL '30' MINUTE))"
        #expect(session.contains(expected2))
        #expect(session.contains("-- differs: `window-1` allowed_lateness"))
    }

    @Test func filtersAndMapsTranslateFunctionByFunction() throws {
        let sql = try export(
            ordersPipeline(
                operators: """
                      - filter: "amount / 2 > 10 and shop in ('rome', 'oslo') and customer is not null"
                      - map:
                          city: upper(shop)
                          label: concat(lower(shop), '-', order_id, '@', ts)
                          hour: date_trunc('hour', ts)
                          dow: extract('dow', ts)
                          day: format(ts, '%Y-%m-%d')
                          cents: round(amount * 100)
                          ratio: order_id / 3
                          who: coalesce(customer, 'anonymous')
                    """))
        let expected3: String =
            "SELECT * FROM `source` WHERE ((((CAST(`amount` AS DOUBLE) / NULLIF(CAST(2 AS DOUBLE), 0)) > 10) "
            + "AND (`shop` IN ('rome', 'oslo'))) AND (`customer` IS NOT NULL));"
        #expect(sql.contains(expected3))
        #expect(sql.contains("UPPER(`shop`) AS `city`"))
        let expected4: String =
            "CONCAT(LOWER(`shop`), '-', CAST(`order_id` AS STRING), '@', "
            + "DATE_FORMAT(CAST(`ts` AS TIMESTAMP(3)), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')) AS `label`"
        #expect(sql.contains(expected4))
        #expect(sql.contains("CAST(FLOOR(CAST(`ts` AS TIMESTAMP(3)) TO HOUR) AS TIMESTAMP_LTZ(3)) AS `hour`"))
        #expect(sql.contains("(DAYOFWEEK(CAST(`ts` AS TIMESTAMP(3))) - 1) AS `dow`"))
        #expect(sql.contains("DATE_FORMAT(CAST(`ts` AS TIMESTAMP(3)), 'yyyy''-''MM''-''dd') AS `day`"))
        #expect(sql.contains("ROUND(CAST((`amount` * 100) AS DECIMAL(18, 2)), 0) AS `cents`"))
        #expect(sql.contains("(`order_id` / NULLIF(3, 0)) AS `ratio`"))
        #expect(sql.contains("COALESCE(`customer`, 'anonymous') AS `who`"))
    }

    @Test func fileSinkBucketsBecomePartitionColumnsComputedInTheInsert() throws {
        let errors = try exportErrors(
            ordersPipeline(
                operators: Self.hourly,
                sink: """
                    file: { path: out/t, bucket: "date={window_start:%Y-%m-%d}/shop={shop}" }
                    """))
        // `shop` names both a row field and a bucket level: Flink needs partition columns of their own.
        #expect(errors.map(\.message).contains { $0.contains("bucket name `shop` is also a field") })
        let ok = try export(
            ordersPipeline(
                operators: Self.hourly,
                sink: """
                    file: { path: out/t, bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}" }
                    """))
        #expect(ok.contains("  `date` STRING,\n  `hour` STRING\n) PARTITIONED BY (`date`, `hour`) WITH ("))
        #expect(ok.contains("'connector' = 'filesystem',\n  'path' = 'out/t',\n  'format' = 'json',"))
        #expect(ok.contains("'partition.default-name' = '__HIVE_DEFAULT_PARTITION__'"))
        let expected5: String =
            "SELECT `shop`, `window_start`, `window_end`, `orders`, `revenue`, `top`, `mean`, "
            + "DATE_FORMAT(CAST(`window_start` AS TIMESTAMP(3)), 'yyyy''-''MM''-''dd') AS `date`, "
            + "DATE_FORMAT(CAST(`window_start` AS TIMESTAMP(3)), 'HH') AS `hour`\nFROM `hourly`;"
        #expect(ok.contains(expected5))
    }

    @Test func whatFlinkDoesDifferentlyIsAnErrorAtItsPosition() throws {
        let firstValue = try exportErrors(
            ordersPipeline(
                operators: """
                      - key_by: shop
                      - window: { tumbling: 1m, aggregate: { early: first(amount) } }
                    """))
        #expect(firstValue.count == 1)
        #expect(firstValue.first?.line == 14)
        #expect(firstValue.first?.message.contains("first() picks by event time") == true)

        let dedupe = try exportErrors(ordersPipeline(operators: "  - dedupe: { key: order_id, ttl: 1h }"))
        #expect(dedupe.first.map { "\($0.line):\($0.column)" } == "13:5")
        #expect(dedupe.first?.message.contains("dedupe `dedupe-1`") == true)

        // Column of the `+` inside the expression.
        let arithmetic = try exportErrors(ordersPipeline(operators: "  - map: { later: ts + 1000 }"))
        #expect(arithmetic.first.map { "\($0.line):\($0.column)" } == "13:22")
        #expect(arithmetic.first?.message.contains("timestamp arithmetic") == true)

        let running = try exportErrors(
            ordersPipeline(
                operators: "  - key_by: shop\n  - aggregate: { aggregate: { total: sum(amount) } }",
                sink: "file: { path: out/t }"))
        #expect(running.first?.message.contains("a running aggregate emits updates") == true)
        #expect(running.first.map { "\($0.line):\($0.column)" } == "16:3")
    }

    @Test func runningAggregateIntoKafkaIsAnUpsertTableWithItsTtlStated() throws {
        let sql = try export(
            ordersPipeline(
                operators: "  - key_by: shop\n  - aggregate: { aggregate: { total: sum(amount) }, ttl: 1d }",
                sink: "kafka: { brokers: out:9092, topic: totals, key: shop }"))
        #expect(
            sql.contains(
                "SELECT `shop`, CAST(SUM(`amount`) AS DECIMAL(18, 2)) AS `total` FROM `source` GROUP BY `shop`"))
        #expect(sql.contains("  PRIMARY KEY (`shop`) NOT ENFORCED\n) WITH (\n  'connector' = 'upsert-kafka',"))
        #expect(sql.contains("SET 'table.exec.state.ttl' = '86400000 ms';"))
        #expect(sql.contains("-- differs: `aggregate-1` ttl"))
    }

    @Test func fileSourcesFlinkCannotReadTheSameWayAreErrorsAtTheirKey() throws {
        // The loader checks that input files exist: real ones, in a directory of this test's own.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["a.jsonl", "b.jsonl", "a.csv"] {
            try "".write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
        }
        let globbed = try exportErrors(
            ordersPipeline(
                operators: Self.hourly,
                source: """
                      file: { paths: [\(dir)/a.jsonl, \(dir)/b.jsonl] }
                      event_time: { field: ts }
                    """))
        #expect(globbed.map { "\($0.line):\($0.column)" } == ["9:11"])
        #expect(globbed.first?.message.contains("reads one file or directory") == true)
        let header = try exportErrors(
            ordersPipeline(
                operators: Self.hourly,
                source: """
                      file: { paths: [\(dir)/a.csv] }
                      format: csv
                      event_time: { field: ts }
                    """))
        #expect(header.first?.message == "Flink's csv format cannot skip a header line")
        let headerless = try export(
            ordersPipeline(
                operators: Self.hourly,
                source: """
                      file: { paths: [\(dir)/a.csv], header: false }
                      format: csv
                      event_time: { field: ts }
                    """))
        #expect(headerless.contains("'connector' = 'filesystem',\n  'path' = '\(dir)/a.csv',\n  'format' = 'csv'"))
    }

    @Test func stdoutAndNullSinksArePrintAndBlackhole() throws {
        let printed = try export(ordersPipeline(operators: Self.hourly))
        #expect(printed.contains("CREATE TABLE `sink` (\n  `shop` STRING,"))
        #expect(printed.contains("'connector' = 'print'"))
        #expect(try export(ordersPipeline(operators: Self.hourly, sink: "null: {}")).contains("'connector' = 'blackhole'"))
    }

    @Test func intervalsUseTheLargestExactUnit() {
        #expect(FlinkSQL.interval(ms: 3_600_000) == "INTERVAL '1' HOUR")
        #expect(FlinkSQL.interval(ms: 90_000) == "INTERVAL '90' SECOND")
        #expect(FlinkSQL.interval(ms: 86_400_000 * 400) == "INTERVAL '400' DAY(3)")
        #expect(FlinkSQL.interval(ms: 250) == "INTERVAL '0.250' SECOND")
        #expect(FlinkSQL.interval(ms: 1_500) == "INTERVAL '1.500' SECOND")
        #expect(FlinkSQL.javaPattern("%Y-%m-%dT%H:%M:%S%%") == "yyyy'-'MM'-'dd'T'HH':'mm':'ss'%'")
        #expect(FlinkSQL.javaPattern("%j") == nil)
    }
}
