import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// The real binary's `report` and `coverage` with `--db postgresql://...` (issue 15): what
/// they print for a SQLite file of the same analyses, but for the database's name.
@Suite(.serialized) struct PostgresReportCommandTests {
    @Test func reportPrintsOnPostgreSQLWhatItPrintsOnSQLite() async throws {
        let cluster = try PostgresCluster.shared
        let url = cluster.url(try cluster.createDatabase("cli"))
        let environment = cluster.environment
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let lite = directory.path("lite.sqlite")
        let set = SyntheticAnalyses(count: 150, seed: 5, agentCount: 12, referenceTime: 1_760_000_000, idBase: 2_000_000)
        let synthetic = try directory.file("east.ndjson", (0 ..< set.count).map { set.body($0) }.joined(separator: "\n"))
        for db in [lite, url] {
            let fixtures = try await runBinary(["import", "--db", db] + Fixture.all.map(Fixture.path), environment: environment)
            #expect(fixtures.status == 0, "\(fixtures.stderr)")
            let east = try await runBinary(["import", "--db", db, "--console", "east", synthetic], environment: environment)
            #expect(east.status == 0, "\(east.stdout) \(east.stderr)")
        }

        func both(_ arguments: [String]) async throws -> (lite: BinaryRunner.Result, pg: BinaryRunner.Result) {
            let a = try await runBinary(arguments + ["--db", lite], environment: environment)
            let b = try await runBinary(arguments + ["--db", url], environment: environment)
            #expect(a.status == 0 && b.status == 0, "\(arguments): \(a.stderr) \(b.stderr)")
            return (a, b)
        }

        let all = try await both(["report"])
        #expect(all.pg.stdout == all.lite.stdout)
        #expect(all.lite.stdout.hasPrefix("Threats by console (by-console)"))
        #expect(all.lite.stdout.contains("New threats per day (UTC) (threats-per-day)"))
        for arguments in [["report", "by-console"], ["report", "top-agents", "--limit", "3"], ["report", "--console", "east", "--since", "2025-09-25"],
                          ["report", "mitigation-failure-rate", "--limit", "100"]] {
            let result = try await both(arguments)
            #expect(result.pg.stdout == result.lite.stdout, "\(arguments)")
            #expect(!result.lite.stdout.contains("(no rows)"), "\(arguments)")
        }

        // An unknown --site: the same warning, listing the same known sites.
        let site = try await both(["report", "top-agents", "--site", "no-such-site"])
        #expect(site.pg.stderr.replacingOccurrences(of: url, with: "DB") == site.lite.stderr.replacingOccurrences(of: lite, with: "DB"))
        #expect(site.pg.stderr.contains("warning: no site named 'no-such-site'") && site.pg.stderr.contains("known sites: "))

        // The HTML page.
        let litePage = directory.path("lite.html"), pgPage = directory.path("pg.html")
        let liteHTML = try await runBinary(["report", "--db", lite, "--html", litePage], environment: environment)
        let pgHTML = try await runBinary(["report", "--db", url, "--html", pgPage], environment: environment)
        #expect(liteHTML.status == 0 && pgHTML.status == 0, "\(pgHTML.stderr)")
        func page(_ path: String, _ db: String) throws -> String {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            // The header names the database and the time the page was made.
            return text.replacingOccurrences(of: db, with: "DB")
                .replacingOccurrences(of: #"generated [0-9T:.Z-]+"#, with: "generated NOW", options: .regularExpression)
        }
        let pgText = try page(pgPage, url)
        #expect(pgText == (try page(litePage, lite)))
        #expect(pgText.contains("id=\"consoles\""))

        // coverage.
        let coverage = try await both(["coverage", "--json"])
        #expect(coverage.pg.stdout == coverage.lite.stdout)
        #expect(coverage.pg.stdout.contains("\"threats\":"))
    }
}
