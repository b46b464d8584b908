import Testing
@testable import S1IngestCore
import S1Testing

/// The one grammar for dates, times and durations (issue 11, item 7).
@Suite struct TimeGrammarTests {
    @Test(arguments: [("90s", 90), ("15min", 900), ("36h", 129_600), ("7d", 604_800), ("2w", 1_209_600)] as [(String, Int64)])
    func durations(text: String, seconds: Int64) throws {
        #expect(try TimeGrammar.durationSeconds(text) == seconds)
    }

    @Test func bareMIsRefusedAsAmbiguousWithTheSpellingToUse() {
        for text in ["1m", "30m", "5M"] {
            do {
                _ = try TimeGrammar.durationSeconds(text)
                Issue.record("\(text) accepted")
            } catch {
                #expect(error.description.contains("ambiguous"), "\(error)")
                #expect(error.description.contains("min"), "\(error)")
            }
        }
    }

    @Test(arguments: ["", "90", "0d", "-5d", "5x", "d", "1.5h", "7 d", "1mo"])
    func notDurations(text: String) {
        #expect(throws: TimeGrammar.ParseError.self) { try TimeGrammar.durationSeconds(text) }
    }

    @Test(arguments: [
        ("2026-01-31", "2026-01-31T00:00:00.000000Z"),
        ("2026-01-31T08:00Z", "2026-01-31T08:00:00.000000Z"),
        ("2026-01-31T08:00:00.5Z", "2026-01-31T08:00:00.500000Z"),
        ("2026-01-31T08:00:00.1234567Z", "2026-01-31T08:00:00.123456Z"),
        ("2026-01-31T08:00:00", "2026-01-31T08:00:00.000000Z"),
        ("2026-01-31 08:00:00Z", "2026-01-31T08:00:00.000000Z"),
        ("2026-01-31T01:00:00+02:00", "2026-01-30T23:00:00.000000Z"),
        ("2026-01-31T23:30:00.25-0530", "2026-02-01T05:00:00.250000Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000000Z"),
    ])
    func timestamps(text: String, stored: String) throws {
        #expect(try TimeGrammar.timestamp(text) == stored)
    }

    @Test(arguments: ["2023-13-01", "2026-13-45", "2026-00-10", "2026-02-30", "2025-02-29", "2026-04-31",
                      "2026-01-31T24:00:00Z", "2026-01-31T08:60Z", "2026-01-31T08:00:61Z", "2026-01-31T08:00:00+25:00",
                      "2026-1-31", "26-01-31", "2026-01-31T", "2026-01-31T08", "2026-01-31T08:00:00Q", "yesterday"])
    func invalidTimesAreRefused(text: String) {
        #expect(throws: TimeGrammar.ParseError.self) { try TimeGrammar.timestamp(text) }
        #expect(throws: TimeGrammar.ParseError.self) { try TimeGrammar.parseSince(text) }
        #expect(SyncStart.parse(text) == nil)
    }

    @Test func sinceIsADurationBackFromNowOrATime() throws {
        let now = Double(daysFromCivil(year: 2026, month: 12, day: 5) * 86_400 + 12 * 3600)
        #expect(try TimeGrammar.since("7d", now: now) == "2026-11-28T12:00:00.000000Z")
        #expect(try TimeGrammar.since("90min", now: now) == "2026-12-05T10:30:00.000000Z")
        #expect(try TimeGrammar.since("2026-12-01T00:00:00+01:00", now: now) == "2026-11-30T23:00:00.000000Z")
        #expect(throws: TimeGrammar.ParseError.self) { try TimeGrammar.since("1m", now: now) }
    }

    @Test func reportFilterUsesTheSameGrammar() throws {
        let now = Double(daysFromCivil(year: 2026, month: 12, day: 5) * 86_400)
        #expect(try ReportFilter(since: "7d", now: now).since == "2026-11-28T00:00:00.000000Z")
        #expect(try ReportFilter(since: "2026-12-01T02:00+02:00").since == "2026-12-01T00:00:00.000000Z")
        #expect(try ReportFilter(since: "2026-12-01").since == "2026-12-01")
        #expect(throws: ReportingError.self) { try ReportFilter(since: "2026-13-45") }
    }
}
