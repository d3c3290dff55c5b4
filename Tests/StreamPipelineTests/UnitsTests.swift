import StreamPipeline
import Testing

@Suite struct UnitsTests {
    @Test func durationsAcceptEachUnitAndCombinations() {
        #expect(Durations.parseMs("250ms") == 250)
        #expect(Durations.parseMs("10s") == 10_000)
        #expect(Durations.parseMs("5m") == 300_000)
        #expect(Durations.parseMs("1h") == 3_600_000)
        #expect(Durations.parseMs("2d") == 172_800_000)
        #expect(Durations.parseMs("1h30m") == 5_400_000)
        #expect(Durations.parseMs("0") == 0)
        #expect(Durations.parseMs("0s") == 0)
    }

    @Test func durationsRejectMissingOrUnknownUnitsAndOverflow() {
        for bad in [
            "", "10", "s", "1.5s", "-1s", "10 s", "1hour", "5M", "1w", "99999999999999999999ms",
            "200000000000000d",
        ] {
            #expect(Durations.parseMs(bad) == nil, "\(bad)")
        }
    }

    @Test func sizesAcceptBinaryDecimalAndPlainBytes() {
        #expect(Sizes.parseBytes("512MiB") == 536_870_912)
        #expect(Sizes.parseBytes("64KiB") == 65_536)
        #expect(Sizes.parseBytes("1GiB") == 1_073_741_824)
        #expect(Sizes.parseBytes("100MB") == 100_000_000)
        #expect(Sizes.parseBytes("1024") == 1_024)
        #expect(Sizes.parseBytes("7B") == 7)
        #expect(Sizes.parseBytes("2tib") == 2_199_023_255_552)
    }

    @Test func sizesRejectFractionsSpacesAndOverflow() {
        for bad in ["", "MiB", "1.5GiB", "10 MB", "-1", "12XB", "9999999TiB"] {
            #expect(Sizes.parseBytes(bad) == nil, "\(bad)")
        }
    }

    @Test func formattingPicksTheLargestExactUnit() {
        #expect(Durations.format(3_600_000) == "1h")
        #expect(Durations.format(90_000) == "90s")
        #expect(Durations.format(1_500) == "1500ms")
        #expect(Sizes.format(536_870_912) == "512MiB")
        #expect(Sizes.format(1_000) == "1KB")
        #expect(Sizes.format(1_000_000) == "1MB")
        #expect(Sizes.format(1_500) == "1500")
    }

    @Test func timestampsAcceptRFC3339AndEpochMillis() {
        #expect(Timestamps.parseMs("2026-11-27T00:00:00Z") == 1_795_737_600_000)
        #expect(Timestamps.parseMs("2026-11-27T01:00:00.250+01:00") == 1_795_737_600_250)
        #expect(Timestamps.parseMs("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamps.parseMs("1795737600000") == 1_795_737_600_000)
        #expect(Timestamps.parseMs("2026-13-01T00:00:00Z") == nil)
        #expect(Timestamps.parseMs("2026-11-27") == nil)
    }
}
