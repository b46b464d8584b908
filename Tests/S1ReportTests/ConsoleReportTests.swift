import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// Reports and exports of a database holding two consoles (issue 14).
@Suite struct ConsoleReportTests {
    /// A two-console database (`TwoConsoles`) at a fresh path.
    func twoConsoles() async throws -> TwoConsoles {
        try await TwoConsoles.make(at: TestDatabases.temporaryPath())
    }

    func printed(_ job: ReportJob) throws -> String {
        let output = TestDatabases.temporaryPath("txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try job.run(to: OutputSink(creatingFile: output))
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    @Test func everyReportKeepsToTheConsoleGiven() async throws {
        let two = try await twoConsoles()
        defer { TestDatabases.remove(two.path) }
        let reader = try ReadOnlyDatabase(path: two.path)
        let east = two.threatIds("east").count, west = two.threatIds("west").count
        #expect(east > 0 && west > 0 && east + west == two.set.count)
        for (console, expected) in [(nil, two.set.count), ("east", east), ("west", west)] as [(String?, Int)] {
            let filter = try ReportFilter(limit: nil, console: console)
            let classifications = try CannedReport.topClassifications.run(on: reader, filter: filter)
            #expect(classifications.rows.map { $0[1].integerValue! }.reduce(0, +) == Int64(expected))
            let perDay = try CannedReport.threatsPerDay.run(on: reader, filter: filter)
            #expect(perDay.rows.map { $0[1].integerValue! }.reduce(0, +) == Int64(expected))
            let agents = try CannedReport.topAgents.run(on: reader, filter: filter)
            #expect(agents.rows.count == (console == nil ? 6 : 3))
            let totals = try HTMLReportData(reader: reader, filter: filter).totals
            #expect(totals.threats == Int64(expected))
        }
        let eastAgents = Set(try CannedReport.topAgents.run(on: reader, filter: ReportFilter(limit: nil, console: "east")).rows.map { $0[1] })
        let westAgents = Set(try CannedReport.topAgents.run(on: reader, filter: ReportFilter(limit: nil, console: "west")).rows.map { $0[1] })
        #expect(eastAgents.isDisjoint(with: westAgents))
        // Each report still runs with every filter at once.
        for report in CannedReport.known {
            _ = try report.run(on: reader, filter: ReportFilter(since: "2023-11-14", site: "Site 1", limit: 3, console: "west"))
        }
    }

    @Test func byConsoleBreakdownOnlyWithSeveralConsoles() async throws {
        let two = try await twoConsoles()
        defer { TestDatabases.remove(two.path) }
        let text = try printed(ReportJob(databasePath: two.path, filter: ReportFilter()))
        #expect(text.hasPrefix("Threats by console (by-console)\n"))
        for report in CannedReport.all { #expect(text.contains("\(report.title) (\(report.name))")) }
        let byConsole = try CannedReport.byConsole.run(on: ReadOnlyDatabase(path: two.path), filter: ReportFilter())
        #expect(byConsole.columns == ["console", "url", "threats", "open", "resolved", "agents", "last_seen_at"])
        #expect(Set(byConsole.rows.map { $0[0] }) == [.text("east"), .text("west")])
        for row in byConsole.rows {
            let console = row[0].textValue!
            #expect(row[2] == .integer(Int64(two.threatIds(console).count)))
            #expect(row[5] == .integer(3))
            #expect(row[3].integerValue! + row[4].integerValue! == row[2].integerValue!)
        }

        // One console chosen: no breakdown, only its threats.
        let east = try printed(ReportJob(databasePath: two.path, reportNames: ["top-classifications"], filter: ReportFilter(console: "east")))
        #expect(!east.contains("by-console"))
        let eastAll = try printed(ReportJob(databasePath: two.path, filter: ReportFilter(console: "east")))
        #expect(!eastAll.contains("by-console"))

        // A single-console database: as before, no breakdown.
        let single = try await TestDatabases.synthetic(.init(count: 20, seed: 1))
        defer { TestDatabases.remove(single) }
        let singleText = try printed(ReportJob(databasePath: single, filter: ReportFilter()))
        #expect(!singleText.contains("by-console"))
        #expect(singleText.hasPrefix("Top classifications (top-classifications)\n"))
        #expect(try HTMLReportData(reader: ReadOnlyDatabase(path: single), filter: ReportFilter()).consoles == nil)
    }

    @Test func htmlReportHasAPerConsoleSection() async throws {
        let two = try await twoConsoles()
        defer { TestDatabases.remove(two.path) }
        func page(_ filter: ReportFilter) throws -> String {
            let output = TestDatabases.temporaryPath("html")
            defer { try? FileManager.default.removeItem(atPath: output) }
            try ReportJob(databasePath: two.path, filter: filter, htmlPath: output).run(to: .standardOutput())
            return try String(contentsOfFile: output, encoding: .utf8)
        }
        let html = try page(ReportFilter())
        #expect(html.contains("<section class=\"chart\" id=\"consoles\">"))
        #expect(html.contains("Threats by console"))
        #expect(html.contains("<td>east</td>") && html.contains("<td>west</td>"))
        #expect(html.contains("<div class=\"value\">\(two.set.count)</div>"))

        let west = try page(ReportFilter(console: "west"))
        #expect(!west.contains("id=\"consoles\""))
        #expect(west.contains("console west"))
        #expect(west.contains("<div class=\"value\">\(two.threatIds("west").count)</div>"))
    }

    @Test func exportKeepsToTheConsoleGiven() async throws {
        let two = try await twoConsoles()
        defer { TestDatabases.remove(two.path) }
        let west = Set(two.threatIds("west"))
        func ids(_ target: ExportTarget, column: String = "threat_id") throws -> [String] {
            let text = try exportToString(ExportJob(databasePath: two.path, target: target, options: ExportOptions(format: .jsonl), console: "west"))
            return try text.split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return "\(object[column] ?? "")"
            }
        }
        let threats = try ids(.table("threats"))
        #expect(Set(threats) == west && threats.count == west.count)
        let mitigations = try ids(.table("mitigations"))
        #expect(!mitigations.isEmpty && Set(mitigations).isSubset(of: west))
        let overview = try ids(.view("threat_overview"))
        #expect(Set(overview) == west)
        #expect(Set(try ids(.view("threat_overview"), column: "console")) == ["west"])
        let agents = Set(try ids(.table("agents"), column: "agent_id"))
        #expect(agents.count == 3)
        let interfaces = Set(try ids(.table("interface_addresses"), column: "agent_id"))
        #expect(!interfaces.isEmpty && interfaces.isSubset(of: agents))
        #expect(try ids(.table("consoles"), column: "console") == ["west"])
        #expect(Set(try ids(.view("new_threats_per_day"), column: "console")) == ["west"])

        // Without a console: every row.
        let all = try exportToString(ExportJob(databasePath: two.path, target: .table("threats"), options: ExportOptions(format: .jsonl)))
        #expect(all.split(separator: "\n").count == two.set.count)

        // --all: every file holds only west's rows.
        let directory = TestDatabases.temporaryPath("dir")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try ExportJob(databasePath: two.path, target: .all(directory: directory), options: ExportOptions(format: .jsonl), console: "west").run()
        #expect(files.first { $0.source == "threats" }?.rows == west.count)
        #expect(files.first { $0.source == "agents" }?.rows == 3)

        #expect(throws: ExportError.consoleWithQuery) {
            try ExportJob(databasePath: two.path, target: .query("SELECT * FROM threats"), console: "west").run()
        }
    }
}
