import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `s1ingest migrate` as a user runs it: a fresh file, a database from an older s1ingest that
/// holds data, and one from a newer s1ingest.
@Suite struct MigrateCommandTests {
    @Test func createsAFreshDatabaseThenReportsItUpToDate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("fresh.sqlite")
        let first = try await runBinary(["migrate", "--db", db])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("schema version 0 -> \(Migrator.latestVersion)"), "\(first.stdout)")
        let again = try await runBinary(["migrate", "--db", db])
        #expect(again.status == 0)
        #expect(again.stdout.contains("schema version \(Migrator.latestVersion), up to date"), "\(again.stdout)")
    }

    @Test func upgradesAnOlderDatabaseKeepingItsRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("old.sqlite")
        // What the first s1ingest schema left: migration 0001 only, with one threat and a mitigation.
        do {
            let old = try Database(path: db)
            let first = try #require(Migrator.migrations.first)
            try old.execute(first.sql)
            try old.execute("""
                INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '\(first.name)', '2024-01-01T00:00:00.000000Z');
                PRAGMA user_version = 1;
                INSERT INTO threats (threat_id, classification, incident_status, created_at, first_ingested_at, last_ingested_at)
                VALUES ('1311010474425970168', 'Trojan', 'unresolved', '2024-01-01T00:00:00.000000Z',
                        '2024-01-02T00:00:00.000000Z', '2024-01-02T00:00:00.000000Z');
                INSERT INTO mitigations (threat_id, position, action, status) VALUES ('1311010474425970168', 0, 'kill', 'success');
                """)
        }
        let result = try await runBinary(["migrate", "--db", db])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("schema version 1 -> \(Migrator.latestVersion)"), "\(result.stdout)")
        let later = Migrator.migrations.dropFirst().map(\.name)
        #expect(result.stdout.contains(later.joined(separator: ", ")), "\(result.stdout)")

        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Migrator.latestVersion)))
        #expect(try database.scalar("SELECT count(*) FROM schema_migrations") == .integer(Int64(Migrator.migrations.count)))
        // The old rows are there, and the views added later see them.
        #expect(try database.query("SELECT threat_id, classification, mitigation_count FROM threat_overview")
                == [["1311010474425970168", "Trojan", 1]])
        #expect(try database.scalar("PRAGMA integrity_check") == "ok")
    }

    @Test func refusesADatabaseFromANewerS1ingest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("newer.sqlite")
        #expect(try await runBinary(["migrate", "--db", db]).status == 0)
        // A newer s1ingest's file, in rollback-journal mode (as a newer version might leave it).
        try Database(path: db).execute("PRAGMA journal_mode = DELETE; PRAGMA user_version = \(Migrator.latestVersion + 1)")
        for command in [["migrate"], ["import", "-"]] {
            let result = try await runBinary(command + ["--db", db], stdin: Data())
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("newer than this s1ingest supports"), "\(result.stderr)")
            // Nothing was changed: the version is still the newer one, the journal mode too.
            let database = try Database(path: db, mode: .readOnly)
            #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Migrator.latestVersion + 1)))
            #expect(try database.scalar("PRAGMA journal_mode") == "delete")
        }
    }

    @Test func refusesASQLiteFileItDidNotCreateWithoutTouchingIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("other.sqlite")
        try Database(path: db).execute("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')")
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let result = try await runBinary(["migrate", "--db", db])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("did not create"), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
    }
}
