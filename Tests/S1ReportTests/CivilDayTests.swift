@testable import S1IngestCore
import S1Testing
import Testing

@Suite struct CivilDayTests {
    /// A date range is filled day by day, month and leap-year ends included.
    @Test func civilDaysCountAcrossMonthsAndYears() throws {
        let days = ["1970-01-01", "2023-12-31", "2024-01-01", "2024-02-28", "2024-02-29", "2024-03-01", "2100-02-28"]
        for text in days { #expect(CivilDay(text)?.text == text) }
        #expect(CivilDay("1970-01-01")?.number == 0)
        #expect(CivilDay("2024-03-01")!.number - CivilDay("2024-02-28")!.number == 2)
        #expect(CivilDay("2023-03-01")!.number - CivilDay("2023-02-28")!.number == 1)
        for bad in ["2023-02-29", "2023-13-01", "2023-1-01", "garbage", "2023-11-1x"] { #expect(CivilDay(bad) == nil) }
    }
}
