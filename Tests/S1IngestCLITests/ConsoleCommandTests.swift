import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `report`, `export` and `prune` with `--console` on a database holding two consoles (issue 14).
@Suite struct ConsoleCommandTests {
    func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func reportShowsTheBreakdownOrOneConsole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let two = try await TwoConsoles.make(at: directory.path("two.sqlite"))
        let all = try await runBinary(["report", "--db", two.path])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.hasPrefix("Threats by console (by-console)"))
        #expect(all.stdout.contains("east") && all.stdout.contains("west"))

        let east = try await runBinary(["report", "--db", two.path, "--console", "east", "top-agents"])
        #expect(east.status == 0, "\(east.stderr)")
        #expect(!east.stdout.contains("by-console"))
        let named = try await runBinary(["report", "--db", two.path, "by-console"])
        #expect(named.status == 0 && named.stdout.contains("west"))

        let html = directory.path("report.html")
        let page = try await runBinary(["report", "--db", two.path, "--html", html])
        #expect(page.status == 0, "\(page.stderr)")
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("id=\"consoles\""))
        let westPage = try await runBinary(["report", "--db", two.path, "--html", html, "--console", "west"])
        #expect(westPage.status == 0, "\(westPage.stderr)")
        let westHTML = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!westHTML.contains("id=\"consoles\"") && westHTML.contains("console west"))

        let unknown = try await runBinary(["report", "--db", two.path, "--console", "nosuch"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no console 'nosuch'") && unknown.stderr.contains("'east', 'west'"), "\(unknown.stderr)")

        for command in ["report", "export", "prune"] {
            let help = try await runBinary([command, "--help"])
            #expect(help.stdout.contains("--console <name|url>"), "\(command)")
        }
    }

    @Test func exportKeepsToOneConsole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let two = try await TwoConsoles.make(at: directory.path("two.sqlite"))
        let west = Set(two.threatIds("west"))
        let threats = try await runBinary(["export", "--db", two.path, "--table", "threats", "--format", "jsonl", "--console", "west"])
        #expect(threats.status == 0, "\(threats.stderr)")
        let rows = lines(threats.stdout)
        #expect(rows.count == west.count && Set(rows.map { "\($0["threat_id"] ?? "")" }) == west)
        #expect(Set(rows.map { "\($0["console"] ?? "")" }) == ["west"])

        let indicators = try await runBinary(["export", "--db", two.path, "--table", "mitigations", "--format", "jsonl", "--console", "west"])
        #expect(indicators.status == 0, "\(indicators.stderr)")
        #expect(Set(lines(indicators.stdout).map { "\($0["threat_id"] ?? "")" }).isSubset(of: west))

        let view = try await runBinary(["export", "--db", two.path, "--view", "agent_exposure", "--format", "jsonl", "--console", "east"])
        #expect(view.status == 0, "\(view.stderr)")
        #expect(lines(view.stdout).count == 3 && Set(lines(view.stdout).map { "\($0["console"] ?? "")" }) == ["east"])

        let query = try await runBinary(["export", "--db", two.path, "--query", "SELECT 1", "--console", "west"])
        #expect(query.status == 64)
        #expect(query.stderr.contains("--console goes with --table, --view or --all"))
        let unknown = try await runBinary(["export", "--db", two.path, "--table", "threats", "--console", "nosuch"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no console 'nosuch'"))
    }

    @Test func pruneOfOneConsoleKeepsTheOther() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let two = try await TwoConsoles.make(at: directory.path("two.sqlite"))
        do {
            let database = try StoreOpener.openForWriting(path: two.path)
            try database.execute("UPDATE threats SET last_ingested_at = '2020-01-01T00:00:00.000000Z'")
        }
        let unknown = try await runBinary(["prune", "--db", two.path, "--older-than", "90d", "--console", "nosuch"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("'east', 'west'"))
        let text = try await runBinary(["prune", "--db", two.path, "--older-than", "90d", "--console", "east", "--dry-run"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("(console east)"))
        let result = try await runBinary(["prune", "--db", two.path, "--older-than", "90d", "--console", "east", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(lines(result.stdout).first)
        #expect(report["console"] as? String == "east")
        #expect((report["deleted"] as? [String: Int])?["threats"] == two.threatIds("east").count)
        let database = try StoreOpener.openForReading(path: two.path)
        #expect(try count(database, "threats", where: "console = 'east'") == 0)
        #expect(try count(database, "threats", where: "console = 'west'") == Int64(two.threatIds("west").count))
        #expect(try count(database, "agents", where: "console = 'west'") == 3)
    }
}
