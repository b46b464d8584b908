import Testing
@testable import S1MockConsole
import S1IngestCore

@Suite struct InternalsTests {
    @Test func aTokenBucketRefillsAtItsRateUpToItsBurst() {
        var state = MockConsoleState(plan: FaultPlan(rateLimit: TokenBucketLimit(rate: 4, burst: 2)))
        let start = ContinuousClock.now
        var answers: [Bool] = []
        for offset in [0, 0, 0, 200, 260, 270, 10_000, 10_000, 10_000] {
            answers.append(state.takeToken(now: start + .milliseconds(offset)))
        }
        // Two at once, then empty; a token every 250 ms; a long quiet spell fills it to the
        // burst, not beyond.
        #expect(answers == [true, true, false, false, true, false, true, true, false])
        #expect(state.statistics.rateLimited == 4)
    }

    @Test func timestampsParseAndFormatExactly() {
        #expect(TimestampText.parse("1970-01-01T00:00:00Z") == 0)
        #expect(TimestampText.parse("2021-12-14T20:23:47.249133Z") == 1_639_513_427_249_133)
        #expect(TimestampText.parse("2021-12-14T20:23:47.249Z") == 1_639_513_427_249_000)
        #expect(TimestampText.parse("2021-12-14T22:23:47.249133+02:00") == 1_639_513_427_249_133)
        #expect(TimestampText.parse("2021-12-14T19:23:47.2491339-0100") == 1_639_513_427_249_133)
        #expect(TimestampText.parse("2021-12-14") == 1_639_440_000_000_000)
        #expect(TimestampText.parse("2021-12-14T20:23") == nil)
        #expect(TimestampText.parse("not a time") == nil)
        #expect(TimestampText.format(micros: 1_639_513_427_249_133) == "2021-12-14T20:23:47.249133Z")
        #expect(TimestampText.httpDate(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func generatorTimestampsRoundTrip() {
        let analyses = SyntheticAnalyses(count: 5_000, seed: 3)
        for index in stride(from: 0, to: 5_000, by: 7) {
            let text = analyses.updatedAt(index)
            let micros = TimestampText.parse(Substring(text))
            #expect(micros.map { TimestampText.format(micros: $0) } == text)
        }
    }

    @Test func tableMatchesBodies() {
        let analyses = SyntheticAnalyses(count: 300, seed: 6)
        let table = ThreatTable(analyses)
        for index in 0..<300 {
            #expect(table.sites[index] == ThreatTable.siteId(inBody: analyses.body(index)))
            #expect(table.ids[index] == UInt64(analyses.threatId(index)))
        }
        #expect(table.baseOrder == Array(0..<300))
    }

    @Test func cursorRoundTripsAndRejectsJunk() {
        let filters = ListFilters(descending: true, updatedAtGTE: 5, updatedAtGT: nil, siteIds: [3, 1], ids: [])
        let cursor = ListCursor(updatedAt: 1_700_000_000_000_001, id: 1_311_010_474_425_970_168, filters: filters)
        #expect(ListCursor(encoded: cursor.encoded) == cursor)
        #expect(ListCursor(encoded: "") == nil)
        #expect(ListCursor(encoded: "abc") == nil)
        #expect(ListCursor(encoded: "a+b/c=") == nil)
    }

    @Test func randomFaultsDependOnSeedThreatAndAttempt() {
        var plan = FaultPlan()
        plan.randomFaults = [(fault: .dropConnection, probability: 0.3)]
        let draws = (0..<1_000).map { plan.randomFault(threatId: String($0), attempt: 1) }
        let hits = draws.filter { $0 == .dropConnection }.count
        #expect(hits > 220 && hits < 380)
        #expect((0..<1_000).map { plan.randomFault(threatId: String($0), attempt: 1) } == draws)
        plan.seed = 2
        #expect((0..<1_000).map { plan.randomFault(threatId: String($0), attempt: 1) } != draws)
    }
}
