import Foundation
import S1IngestCore
import S1Testing
import Testing

/// Export, query and report cannot change data, and never create a database.
@Suite struct ReadOnlyEnforcementTests {
    @Test func deleteThroughQueryFailsAndChangesNothing() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 12, seed: 2))
        defer { TestDatabases.remove(path) }
        let before = try TestDatabases.rows(path, "SELECT count(*) FROM threats")
        for sql in ["DELETE FROM threats", "UPDATE threats SET classification = 'x'", "DROP VIEW threat_overview",
                    "INSERT INTO engines VALUES ('1', 0, 'x')", "CREATE TABLE t (x)"] {
            #expect(throws: ReportingError.statementNotReadOnly(sql: sql)) {
                try QueryJob(databasePath: path, sql: sql, style: .csv).run(to: OutputSink(creatingFile: "/dev/null"))
            }
        }
        #expect(throws: ReportingError.self) {
            try ExportJob(databasePath: path, target: .query("DELETE FROM threats"), outputPath: "/dev/null").run()
        }
        #expect(try TestDatabases.rows(path, "SELECT count(*) FROM threats") == before)
        #expect(before == [[.integer(12)]])
    }

    @Test func noStatementCreatesAFile() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let target = TestDatabases.temporaryPath()
        #expect(throws: ReportingError.statementNotReadOnly(sql: "VACUUM INTO '\(target)'")) {
            try QueryJob(databasePath: path, sql: "VACUUM INTO '\(target)'").run(to: OutputSink(creatingFile: "/dev/null"))
        }
        // ATTACH counts as read-only for SQLite, but the read-only connection cannot create or write the file.
        #expect(throws: SQLiteError.self) {
            try QueryJob(databasePath: path, sql: "ATTACH 'file:\(target)?mode=rwc' AS other").run(to: OutputSink(creatingFile: "/dev/null"))
        }
        #expect(throws: SQLiteError.self) {
            try QueryJob(databasePath: path, sql: "ATTACH '\(target)' AS other").run(to: OutputSink(creatingFile: "/dev/null"))
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func aSecondStatementIsRefused() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let sql = "SELECT 1; DELETE FROM cells"
        #expect(throws: ReportingError.multipleStatements(sql: sql)) {
            try QueryJob(databasePath: path, sql: sql).run(to: OutputSink(creatingFile: "/dev/null"))
        }
        // Trailing semicolons and comments are fine.
        let outcome = try QueryJob(databasePath: path, sql: "SELECT count(*) FROM cells; -- done\n").run(to: OutputSink(creatingFile: "/dev/null"))
        #expect(outcome == .init(rows: 1, truncated: false))
        #expect(try TestDatabases.rows(path, "SELECT count(*) FROM cells") == [[.integer(Int64(TestDatabases.trickyTexts.count))]])
    }

    @Test func theConnectionItselfIsReadOnly() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let reader = try ReadOnlyDatabase(path: path)
        #expect(throws: SQLiteError.self) { try reader.database.execute("DELETE FROM cells") }
        #expect(throws: SQLiteError.self) { try reader.database.execute("PRAGMA query_only = OFF; DELETE FROM cells") }
        #expect(try TestDatabases.rows(path, "SELECT count(*) FROM cells") == [[.integer(Int64(TestDatabases.trickyTexts.count))]])
    }

    @Test func aMissingDatabaseIsAnErrorAndIsNotCreated() throws {
        let path = TestDatabases.temporaryPath()
        #expect(throws: ReportingError.databaseNotFound(path: path)) { try ExportJob(databasePath: path, target: .table("threats")).run() }
        #expect(throws: ReportingError.databaseNotFound(path: path)) { try QueryJob(databasePath: path, sql: "SELECT 1").run(to: .standardOutput()) }
        #expect(throws: ReportingError.databaseNotFound(path: path)) {
            try ReportJob(databasePath: path, filter: ReportFilter()).run(to: .standardOutput())
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(ReportingError.databaseNotFound(path: path).description.contains("s1ingest import"))
    }

    @Test func emptySQLIsRefused() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        #expect(throws: ReportingError.emptyStatement) { try QueryJob(databasePath: path, sql: "  -- nothing\n").run(to: .standardOutput()) }
    }
}
