import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// Canned reports and their filters.
@Suite struct ReportTests {
    @Test func reportsAgreeWithTheViewsAndFiltersNarrowThem() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 3000, seed: 1))
        defer { TestDatabases.remove(path) }
        let reader = try ReadOnlyDatabase(path: path)
        let all = try ReportFilter(limit: nil)
        let classifications = try CannedReport.topClassifications.run(on: reader, filter: all)
        #expect(classifications.rows.map { $0[1].integerValue! }.reduce(0, +) == 3000)
        let perDay = try CannedReport.threatsPerDay.run(on: reader, filter: all)
        #expect(perDay.rows.map { $0[0].textValue! } == ["2023-11-14", "2023-11-15", "2023-11-16"])
        #expect(perDay.rows.map { $0[1].integerValue! } == [190, 2335, 475])

        let since = try CannedReport.threatsPerDay.run(on: reader, filter: ReportFilter(since: "2023-11-16", limit: nil))
        #expect(since.rows.map { $0[1].integerValue! } == [475])
        let site = try CannedReport.topClassifications.run(on: reader, filter: ReportFilter(site: "Site 4", limit: nil))
        let siteCount = try reader.database.scalar("SELECT count(*) FROM threat_overview WHERE site_name = 'Site 4'").integerValue
        #expect(site.rows.map { $0[1].integerValue! }.reduce(0, +) == siteCount)
        let top3 = try CannedReport.topAgents.run(on: reader, filter: ReportFilter(limit: 3))
        #expect(top3.rows.count == 3)
        let exposure = try reader.database.query("SELECT agent_id, threat_count FROM agent_exposure LIMIT 3")
        #expect(top3.rows.map { $0[3] } == exposure.map { $0[1] })
        #expect(top3.rows.first?[1] == exposure.first?[0])

        let rates = try CannedReport.mitigationFailureRate.run(on: reader, filter: all)
        let failed = try reader.database.scalar("SELECT count(*) FROM mitigation_failures").integerValue
        #expect(rates.rows.map { $0[3].integerValue! }.reduce(0, +) == failed)
        #expect(rates.rows.map { $0[1].integerValue! }.reduce(0, +) == 7541)
    }

    @Test func textReportPrintsEveryReport() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 50, seed: 1))
        defer { TestDatabases.remove(path) }
        let output = TestDatabases.temporaryPath("txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try ReportJob(databasePath: path, filter: ReportFilter()).run(to: OutputSink(creatingFile: output))
        let text = try String(contentsOfFile: output, encoding: .utf8)
        for report in CannedReport.all { #expect(text.contains("\(report.title) (\(report.name))")) }
    }

    @Test func queryTableIsAligned() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let output = TestDatabases.temporaryPath("txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try QueryJob(databasePath: path, sql: "SELECT id, value FROM cells WHERE id IN (1, 4, 8) ORDER BY id").run(to: OutputSink(creatingFile: output))
        #expect(try String(contentsOfFile: output, encoding: .utf8) == """
            id  value
            --  -----------------
             1  plain
             4  line one⏎line two
             8  NULL
            (3 rows)

            """)
        let outcome = try QueryJob(databasePath: path, sql: "SELECT * FROM cells", style: .table(maxRows: 5)).run(to: OutputSink(creatingFile: output))
        #expect(outcome == .init(rows: 5, truncated: true))
    }
}
