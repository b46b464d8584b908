import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `migrate` on a real server (a throwaway cluster), the reference schema, and what a
/// connection that cannot be made says.
@Suite(.serialized) struct PostgresSchemaTests {
    @Test func migrateCreatesTheSchemaOnceAndRecordsEachMigration() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let first = try provider.migrate()
        #expect(first.fromVersion == 0)
        #expect(first.toVersion == PostgresMigrator.latestVersion)
        #expect(first.applied == PostgresMigrator.migrations.map(\.name))
        let again = try provider.migrate()
        #expect(again.applied.isEmpty && again.fromVersion == PostgresMigrator.latestVersion)
        #expect(try cluster.psql(database, "SELECT count(*) FROM schema_migrations") == String(PostgresMigrator.migrations.count))
        let views = try cluster.psql(database, "SELECT string_agg(viewname, ',' ORDER BY viewname) FROM pg_views WHERE schemaname = 'public'")
        #expect(views == "agent_exposure,mitigation_failures,mitre_technique_frequency,new_threats_per_day,threat_overview")
    }

    @Test func theReferenceSchemaIsWhatTheMigrationsProduce() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        try provider.migrate()
        let fresh = try PostgresSchemaDump.schemaSQL(of: provider)
        let path = Repository.root.appendingPathComponent("schemas/postgresql.sql").path
        if ProcessInfo.processInfo.environment["S1INGEST_WRITE_SCHEMA"] == "1" {
            try fresh.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let committed = try Repository.text("schemas/postgresql.sql")
        #expect(committed == fresh, "schemas/postgresql.sql is stale: run S1INGEST_WRITE_SCHEMA=1 swift test --filter theReferenceSchemaIsWhatTheMigrationsProduce")
    }

    @Test func tablesHaveTheFlattenersColumnsWithNativeTypes() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        try cluster.provider(database).migrate()
        for table in Table.allCases {
            let columns = try cluster.psql(database, """
                SELECT string_agg(column_name, ',') FROM information_schema.columns WHERE table_name = '\(table.name)' AND column_name <> 'console'
                """).split(separator: ",").map(String.init)
            #expect(Set(columns) == Set(table.columns), "\(table.name): code and migrations/postgresql disagree")
        }
        let types = try cluster.psql(database, """
            SELECT string_agg(table_name || '.' || column_name || '=' || data_type, ' ' ORDER BY table_name, column_name)
            FROM information_schema.columns
            WHERE (table_name, column_name) IN (('threats', 'created_at'), ('threats', 'is_fileless'), ('threats', 'file_size'),
                   ('raw_analyses', 'body'), ('ingest_runs', 'pace'), ('ingest_queue', 'lease_expires_at'))
            """)
        #expect(types == "ingest_queue.lease_expires_at=timestamp with time zone ingest_runs.pace=double precision raw_analyses.body=json "
            + "threats.created_at=timestamp with time zone threats.file_size=bigint threats.is_fileless=boolean")
        // The console dimension (issue 14): a threat ID is queued once, for one console, as in SQLite.
        let keys = try cluster.psql(database, """
            SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ingest_queue'::regclass AND contype = 'p'
            """)
        #expect(keys == "PRIMARY KEY (threat_id)")
    }

    @Test func aDatabaseWithOtherTablesIsNotTouched() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        try cluster.psql(database, "CREATE TABLE payroll (id int)")
        #expect(throws: PostgresStoreError.notAnS1ingestDatabase(location: cluster.url(database))) {
            try cluster.provider(database).migrate()
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "1")
    }

    @Test func aFailingMigrationLeavesNothingHalfDone() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        // A view of the name 0002 creates, made after 0001 ran: 0002 fails and is rolled back whole.
        try cluster.provider(database).migrate()
        try cluster.psql(database, "DROP VIEW mitigation_failures; DROP VIEW threat_overview; DROP VIEW agent_exposure; DROP VIEW mitre_technique_frequency; DROP VIEW new_threats_per_day; DELETE FROM schema_migrations WHERE version >= 2; CREATE VIEW mitre_technique_frequency AS SELECT 1 AS x")
        do {
            try cluster.provider(database).migrate()
            Issue.record("migrated over a conflicting view")
        } catch let error as PostgresStoreError {
            guard case .migrationFailed(let name, _) = error else { Issue.record("\(error)"); return }
            #expect(name == "0002_views.sql")
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM pg_views WHERE schemaname = 'public'") == "1")
        #expect(try cluster.psql(database, "SELECT max(version) FROM schema_migrations") == "1")
    }

    @Test func unreachableServerSaysWhatToCheck() throws {
        let port = PostgresCluster.freePort()
        let provider = StoreBackends.provider(for: "postgresql://u@127.0.0.1:\(port)/d?sslmode=disable")
        do {
            _ = try provider.migrate()
            Issue.record("connected to a port nothing listens on")
        } catch let error as PostgresStoreError {
            guard case .unreachable = error else { Issue.record("\(error)"); return }
            #expect("\(error)".contains("127.0.0.1:\(port)") && "\(error)".contains("check the host and port"))
        }
    }

    @Test func aRefusedPasswordAndAMissingDatabaseAreNamed() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        do {
            _ = try cluster.provider(database, password: "not-the-password").migrate()
            Issue.record("logged in with a wrong password")
        } catch let error as PostgresStoreError {
            guard case .authenticationFailed = error else { Issue.record("\(error)"); return }
            #expect(!"\(error)".contains("not-the-password"))
            #expect("\(error)".contains("PGPASSWORD"))
        }
        do {
            _ = try cluster.provider("no_such_database").migrate()
            Issue.record("opened a database that does not exist")
        } catch let error as PostgresStoreError {
            #expect(error == .databaseMissing(location: cluster.url("no_such_database"), database: "no_such_database"))
        }
        // No password at all, for a server that asks for one.
        var provider = PostgresStoreProvider(url: cluster.url(database), warn: { _ in })
        provider.environment = ["HOME": "/nonexistent"]
        #expect(throws: PostgresStoreError.passwordMissing(location: cluster.url(database))) { try provider.migrate() }
    }

    @Test func aServerOlderThanRequiredIsRefusedBeforeAnythingChanges() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        var provider = cluster.provider(database)
        // This server (15) as if s1ingest needed 99: the same path as a 12 against the real floor of 13.
        provider.environment?["S1INGEST_PG_MINIMUM_VERSION"] = "990000"
        do {
            _ = try provider.migrate()
            Issue.record("migrated on a server below the minimum")
        } catch let error as PostgresStoreError {
            guard case .serverTooOld(_, let version) = error else { Issue.record("\(error)"); return }
            #expect(version.hasPrefix("15") || version.hasPrefix("1"))
            #expect("\(error)".contains("needs PostgreSQL 13 or newer") && "\(error)".contains("nothing was changed"))
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0")
    }

    @Test func sslmodeRequireRefusesAServerWithoutTLS() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        var provider = PostgresStoreProvider(url: cluster.url(database, sslmode: "require"), warn: { _ in })
        provider.environment = ["PGPASSWORD": cluster.password]
        do {
            _ = try provider.migrate()
            Issue.record("connected without TLS under sslmode=require")
        } catch let error as PostgresStoreError {
            guard case .tls = error else { Issue.record("\(error)"); return }
        }
        // prefer falls back to plain TCP.
        var preferring = PostgresStoreProvider(url: cluster.url(database, sslmode: "prefer"), warn: { _ in })
        preferring.environment = ["PGPASSWORD": cluster.password]
        #expect(try preferring.migrate().toVersion == PostgresMigrator.latestVersion)
    }
}
