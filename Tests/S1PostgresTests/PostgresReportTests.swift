import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// `report` on PostgreSQL (issue 15): every canned report, the HTML page, the site and console
/// look-ups and `coverage` give on PostgreSQL what they give on SQLite for the same analyses.
@Suite(.serialized) struct PostgresReportTests {
    /// The same analyses in a SQLite file and in a PostgreSQL database: the fixtures (console
    /// `default`) and two synthetic consoles (`east`, `west`) on a live timeline, so that some
    /// threats are resolved, days differ and mitigations fail.
    final class Pair {
        let directory: TemporaryDirectory
        let litePath: String
        let provider: PostgresStoreProvider
        let lite: any StoreReader
        let pg: any StoreReader

        init() async throws {
            let cluster = try PostgresCluster.shared
            let database = try cluster.createDatabase("report")
            provider = cluster.provider(database)
            directory = try TemporaryDirectory()
            litePath = directory.path("lite.sqlite")
            let reference = 1_760_000_000
            let east = SyntheticAnalyses(count: 240, seed: 21, agentCount: 17, referenceTime: reference, idBase: 3_000_000)
            let west = SyntheticAnalyses(count: 160, seed: 22, agentCount: 9, referenceTime: reference, idBase: 1_000_000)
            let eastFile = try directory.file("east.ndjson", (0 ..< east.count).map { east.body($0) }.joined(separator: "\n"))
            let westFile = try directory.file("west.ndjson", (0 ..< west.count).map { west.body($0) }.joined(separator: "\n"))
            let imports: [(String?, [String])] = [(nil, Fixture.all.map(Fixture.path)), ("east", [eastFile]), ("west", [westFile])]
            for (console, paths) in imports {
                var liteOptions = ImportOptions(databasePath: litePath, inputs: paths)
                liteOptions.console = console
                let liteSummary = try await Importer(options: liteOptions).run()
                var pgOptions = ImportOptions(databasePath: provider.location, inputs: paths)
                pgOptions.console = console
                let pgSummary = try await Importer(options: pgOptions, store: provider).run()
                #expect(pgSummary.outcomes == liteSummary.outcomes)
            }
            lite = try StoreBackends.provider(for: litePath).openReader()
            pg = try provider.openReader()
        }
    }

    /// Every filter the comparisons run with.
    static func filters(sites: [(id: String?, name: String?)]) throws -> [ReportFilter] {
        var filters = [
            try ReportFilter(),
            try ReportFilter(limit: nil),
            try ReportFilter(limit: 2),
            try ReportFilter(since: "2025-09-20", limit: 5),
            try ReportFilter(since: "2025-10-01T08:00:00Z", limit: nil),
            try ReportFilter(since: "2025-10-01T10:00:00+02:00"),
            try ReportFilter(console: "east"),
            try ReportFilter(limit: nil, console: "west"),
            try ReportFilter(limit: nil, console: "default"),
            try ReportFilter(console: "nosuch"),
            try ReportFilter(since: "2099-01-01"),
        ]
        for site in sites.prefix(3) {
            if let name = site.name { filters.append(try ReportFilter(site: name, limit: nil)) }
            if let id = site.id { filters.append(try ReportFilter(since: "2025-09-25", site: id, console: "east")) }
        }
        return filters
    }

    @Test func everyCannedReportGivesTheSameRowsOnBothBackends() async throws {
        let pair = try await Pair()
        #expect(pair.pg.dialect == .postgresql)
        #expect(pair.lite.dialect == .sqlite)
        let sites = try ReportFilter.knownSites(in: pair.lite)
        #expect(sites.count > 1)
        #expect(try ReportFilter.knownSites(in: pair.pg).map { "\($0.id ?? "-")|\($0.name ?? "-")" }
                == sites.map { "\($0.id ?? "-")|\($0.name ?? "-")" })
        #expect(try ReportFilter.knownConsoles(in: pair.pg) == ["default", "east", "west"])
        #expect(try ReportFilter.knownConsoles(in: pair.lite) == ["default", "east", "west"])

        var rowsSeen: [String: Int] = [:]
        for filter in try Self.filters(sites: sites) {
            for report in CannedReport.known {
                let lite = try report.run(on: pair.lite, filter: filter)
                let pg = try report.run(on: pair.pg, filter: filter)
                #expect(pg.columns == lite.columns, "\(report.name) \(filter)")
                #expect(pg.rows == lite.rows, "\(report.name) \(filter)")
                if pg.rows != lite.rows {
                    for (a, b) in zip(pg.rows, lite.rows) where a != b { Issue.record("\(report.name): pg \(a) vs sqlite \(b)") }
                }
                rowsSeen[report.name, default: 0] += lite.rows.count
            }
        }
        // Each report had rows to compare (the comparison is not of empty results only).
        for report in CannedReport.known { #expect(rowsSeen[report.name, default: 0] > 3, "\(report.name)") }

        // Numbers are numbers: counts as integers, percentages as reals, times as stored text.
        let classes = try CannedReport.topClassifications.run(on: pair.pg, filter: ReportFilter())
        #expect(classes.columns == ["classification", "threats", "percent", "open"])
        guard let first = classes.rows.first else { Issue.record("no classifications"); return }
        guard case .integer = first[1], case .real = first[2], case .integer = first[3] else {
            Issue.record("top-classifications cells are not numbers: \(first)")
            return
        }
        let agents = try CannedReport.topAgents.run(on: pair.pg, filter: ReportFilter())
        #expect(agents.rows.allSatisfy { $0[5].textValue.map { $0.count == 27 && $0.hasSuffix("Z") } ?? false })
        // The since bound is a time, not text: a time with an offset is its UTC instant.
        let late = try CannedReport.threatsPerDay.run(on: pair.pg, filter: ReportFilter(since: "2025-10-01T10:00:00+02:00", limit: nil))
        let all = try CannedReport.threatsPerDay.run(on: pair.pg, filter: ReportFilter(limit: nil))
        #expect(late.rows.count < all.rows.count && !late.rows.isEmpty)
    }

    @Test func textHTMLAndCoverageAreTheSameOnBothBackends() async throws {
        let pair = try await Pair()
        func printed(_ job: ReportJob, _ reader: any StoreReader) throws -> String {
            let output = pair.directory.path("report-\(UUID().uuidString).txt")
            try job.run(to: OutputSink(creatingFile: output), reader: reader)
            return try String(contentsOfFile: output, encoding: .utf8)
        }
        for filter in [try ReportFilter(), try ReportFilter(since: "2025-09-28", limit: 3, console: "west")] {
            let job = ReportJob(databasePath: "", filter: filter)
            let lite = try printed(job, pair.lite)
            let pg = try printed(job, pair.pg)
            #expect(pg == lite)
            #expect(lite.contains("(top-classifications)"))
            // Several consoles and no --console: by-console comes first, on both.
            #expect(lite.hasPrefix("Threats by console (by-console)") == (filter.console == nil))
        }
        for name in CannedReport.known.map(\.name) {
            let job = ReportJob(databasePath: "", reportNames: [name], filter: try ReportFilter(limit: 4))
            #expect(try printed(job, pair.pg) == printed(job, pair.lite), "\(name)")
        }

        // The HTML page: the same page but for the database's name in its header.
        for filter in [try ReportFilter(), try ReportFilter(since: "2025-10-02", console: "east")] {
            let lite = HTMLReport.render(try HTMLReportData(reader: pair.lite, filter: filter, generatedAt: "2025-10-10T00:00:00Z"))
            let pg = HTMLReport.render(try HTMLReportData(reader: pair.pg, filter: filter, generatedAt: "2025-10-10T00:00:00Z"))
            #expect(lite.contains(pair.lite.location) && pg.contains(pair.pg.location))
            #expect(pg.replacingOccurrences(of: pair.pg.location, with: "DB") == lite.replacingOccurrences(of: pair.lite.location, with: "DB"))
            let data = try HTMLReportData(reader: pair.pg, filter: filter)
            #expect(data.totals.threats > 0 && data.totals.mitigations > 0 && data.totals.open > 0)
            #expect((data.consoles != nil) == (filter.console == nil))
        }
        // `report --html` through the job writes the page.
        let page = pair.directory.path("pg.html")
        try ReportJob(databasePath: "", filter: ReportFilter(), htmlPath: page).run(to: .standardOutput(), reader: pair.pg)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("id=\"consoles\"") && html.contains("id=\"threats-per-day\""))

        // coverage reads the raw bodies the same way.
        let liteCoverage = try Coverage.run(reader: pair.lite)
        let pgCoverage = try Coverage.run(reader: pair.pg)
        #expect(pgCoverage.threats == liteCoverage.threats)
        #expect(pgCoverage.threats == Int(try pair.pg.query("SELECT count(*) FROM raw_analyses").allRows().first?.first?.integerValue ?? -1))
        #expect(pgCoverage.threats > 5 && pgCoverage.paths.count > 50, "\(pgCoverage.threats) bodies, \(pgCoverage.paths.count) paths")
        #expect(pgCoverage.unreadable == liteCoverage.unreadable)
        #expect(pgCoverage.paths == liteCoverage.paths)
    }

    @Test func anEmptyDatabaseReportsTheSameOnBothBackends() throws {
        let cluster = try PostgresCluster.shared
        let provider = cluster.provider(try cluster.createDatabase("report"))
        _ = try provider.migrate()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let litePath = directory.path("empty.sqlite")
        _ = try StoreBackends.provider(for: litePath).migrate()
        let lite = try StoreBackends.provider(for: litePath).openReader(), pg = try provider.openReader()
        for report in CannedReport.known {
            let a = try report.run(on: lite, filter: ReportFilter()), b = try report.run(on: pg, filter: ReportFilter())
            #expect(b.rows.isEmpty && a.rows.isEmpty)
            // The columns are named without rows too.
            #expect(b.columns == a.columns && !b.columns.isEmpty, "\(report.name)")
        }
        let liteData = try HTMLReportData(reader: lite, filter: ReportFilter(), generatedAt: "now")
        let pgData = try HTMLReportData(reader: pg, filter: ReportFilter(), generatedAt: "now")
        #expect(pgData.totals == liteData.totals)
        #expect(HTMLReport.render(pgData).replacingOccurrences(of: pg.location, with: "DB")
                == HTMLReport.render(liteData).replacingOccurrences(of: lite.location, with: "DB"))
        #expect(try Coverage.run(reader: pg).threats == 0)
    }

    @Test func reportsStayReadOnlyOnPostgreSQL() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase("report")
        let provider = cluster.provider(database)
        _ = try await Importer(options: ImportOptions(databasePath: provider.location, inputs: Fixture.all.map(Fixture.path)), store: provider).run()
        let before = try cluster.psql(database, "SELECT count(*) FROM threats")
        let reader = try provider.openReader()
        for report in CannedReport.known { _ = try report.run(on: reader, filter: ReportFilter()) }
        // The reader's transaction is READ ONLY: the reports ran in it.
        #expect(try reader.query("SHOW transaction_read_only").allRows() == [[.text("on")]])
        #expect(throws: ReportingError.self) { try reader.query("DELETE FROM threats") }
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == before)
    }
}
