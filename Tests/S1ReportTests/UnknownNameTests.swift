import Foundation
import S1IngestCore
import S1Testing
import Testing

/// Wrong names get an error listing the right ones, and nothing is written.
@Suite struct UnknownNameTests {
    @Test func unknownTableListsTheValidTables() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 3, seed: 1))
        defer { TestDatabases.remove(path) }
        let output = TestDatabases.temporaryPath("csv")
        do {
            try ExportJob(databasePath: path, target: .table("threat"), outputPath: output).run()
            Issue.record("expected an error")
        } catch let error as ReportingError {
            guard case .unknownTable(let name, let valid) = error else { Issue.record("wrong error \(error)"); return }
            #expect(name == "threat")
            #expect(valid.first == "schema_migrations")
            #expect(Set(valid).isSuperset(of: ["threats", "agents", "mitigations", "indicator_techniques", "raw_analyses"]))
            #expect(!valid.contains("threat_overview"))
            #expect(error.description.contains("no table named 'threat'; tables: schema_migrations, agents,"))
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func unknownViewListsTheValidViews() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 3, seed: 1))
        defer { TestDatabases.remove(path) }
        #expect(throws: ReportingError.unknownView(name: "threats", valid: [
            "threat_overview", "mitigation_failures", "agent_exposure", "mitre_technique_frequency", "new_threats_per_day",
        ])) {
            try ExportJob(databasePath: path, target: .view("threats")).run()
        }
    }

    @Test func unknownReportListsTheReports() throws {
        #expect(throws: ReportingError.unknownReport(name: "top", valid: CannedReport.known.map(\.name))) {
            try CannedReport.named("top")
        }
    }

    @Test func sinceMustBeADate() throws {
        #expect(throws: ReportingError.invalidSince("yesterday")) { try ReportFilter(since: "yesterday") }
        #expect(try ReportFilter(since: "2023-11-15").since == "2023-11-15")
        #expect(try ReportFilter(since: "2023-11-15T10:20Z").since == "2023-11-15T10:20:00.000000Z")
        #expect(try ReportFilter(since: "2023-11-15T10:20:30.5").since == "2023-11-15T10:20:30.500000Z")
    }
}

/// A database from before the views asks for `migrate` instead of failing on a missing view.
@Suite struct OldSchemaTests {
    @Test func reportOnADatabaseWithoutViewsSaysToMigrate() throws {
        let path = TestDatabases.temporaryPath()
        defer { TestDatabases.remove(path) }
        try Database(path: path).execute("CREATE TABLE threats (threat_id TEXT); PRAGMA user_version = 1")
        #expect(throws: ReportingError.viewsMissing(path: path, version: 1)) {
            try ReportJob(databasePath: path, filter: ReportFilter()).run(to: .standardOutput())
        }
        #expect(ReportingError.viewsMissing(path: path, version: 1).description.contains("s1ingest migrate --db \(path)"))
        // Tables still export.
        #expect(try ExportJob(databasePath: path, target: .table("threats"), outputPath: "/dev/null").run().first?.rows == 0)
    }
}
