import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// `import` into PostgreSQL: the same rows as SQLite, and SQLite's per-threat semantics.
@Suite(.serialized) struct PostgresImportTests {
    /// No child row without its threat (the child tables have no FOREIGN KEY: the writer keeps them).
    private func expectNoOrphans(_ cluster: PostgresCluster, _ database: String) throws {
        for table in Table.threatChildren + [.rawAnalyses] {
            let orphans = try cluster.psql(database, "SELECT count(*) FROM \(table.name) c WHERE NOT EXISTS (SELECT 1 FROM threats t WHERE t.threat_id = c.threat_id)")
            #expect(orphans == "0", "\(table.name) has rows without their threat")
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats t WHERE agent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.agent_id = t.agent_id)") == "0")
    }

    private func importInto(_ provider: any StoreProvider, _ paths: [String], batchSize: Int = 4000) async throws -> ImportSummary {
        try await Importer(options: ImportOptions(databasePath: provider.location, inputs: paths, batchSize: batchSize), store: provider).run()
    }

    @Test func fixturesGiveTheSameRowsAsSQLite() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let paths = Fixture.all.map(Fixture.path)
        let lite = try await importFiles(paths, into: directory.path("lite.sqlite"))
        let pg = try await importInto(cluster.provider(database), paths)
        #expect(pg.outcomes == lite.outcomes)
        #expect(pg.rowCounts.map(\.table) == lite.rowCounts.map(\.table))
        #expect(pg.rowCounts.map(\.rows) == lite.rowCounts.map(\.rows))
        #expect(pg.stored > 0)

        // The same values: every threat's times, booleans and counts, as text.
        let sqlite = try Database(path: directory.path("lite.sqlite"))
        let liteThreats = try sqlite.query("""
            SELECT threat_id || '|' || coalesce(updated_at, '') || '|' || coalesce(is_fileless, '') || '|' || coalesce(file_size, '')
                || '|' || coalesce(classification, '') FROM threats ORDER BY threat_id
            """).compactMap { $0.first?.textValue }
        let pgThreats = try cluster.psql(database, """
            SELECT threat_id || '|' || coalesce(to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '') || '|'
                || coalesce(is_fileless::int::text, '') || '|' || coalesce(file_size::text, '') || '|' || coalesce(classification, '')
            FROM threats ORDER BY threat_id
            """).split(separator: "\n").map(String.init)
        #expect(pgThreats == liteThreats)
        // The raw body is kept byte for byte, and is json.
        let liteBodies = try sqlite.query("SELECT body FROM raw_analyses ORDER BY threat_id").compactMap { $0.first?.textValue }
        let bodies = try cluster.psql(database, "SELECT count(*) FROM raw_analyses r WHERE r.body::text = ANY(ARRAY[\(liteBodies.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ","))])")
        #expect(bodies == String(liteBodies.count))
        let objects = try cluster.psql(database, "SELECT count(*) FROM raw_analyses WHERE json_typeof(body) = 'object'")
        #expect(objects == String(liteBodies.count))
        let reachable = try cluster.psql(database, "SELECT count(*) FROM raw_analyses WHERE body->'data'->'threatInfo'->>'threatId' = threat_id")
        #expect(Int(reachable) ?? 0 >= 2)
        try expectNoOrphans(cluster, database)
    }

    @Test func importingAgainIsUnchangedAndANewerVersionReplacesChildren() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let set = SyntheticAnalyses(count: 300, seed: 7)
        let first = try directory.file("a.ndjson", (0 ..< 300).map { set.body($0) }.joined(separator: "\n"))
        let summary = try await importInto(provider, [first], batchSize: 64)
        #expect(summary.outcomes[.inserted] == 300)
        let counts = try await importInto(provider, [first]).rowCounts
        let again = try await importInto(provider, [first])
        #expect(again.outcomes[.unchanged] == 300)
        #expect(again.rowCounts.map(\.rows) == counts.map(\.rows))

        // Newer revisions of the first 50 (updated), older ones of the next 50 (stale), and
        // one analysis twice in the same batch.
        let newer = (0 ..< 50).map { set.body($0, revision: 1, updatedAt: "2031-01-01T00:00:00.000000Z") }
        let older = (50 ..< 100).map { set.body($0, revision: 1, updatedAt: "2001-01-01T00:00:00.000000Z") }
        let second = try directory.file("b.ndjson", (newer + older + [newer[0]]).joined(separator: "\n"))
        let changed = try await importInto(provider, [second])
        #expect(changed.outcomes[.updated] == 50)
        #expect(changed.outcomes[.stale] == 50)
        #expect(changed.outcomes[.unchanged] == 1)
        let lite = directory.path("lite.sqlite")
        _ = try await importFiles([first], into: lite)
        let liteChanged = try await importFiles([second], into: lite)
        #expect(changed.outcomes == liteChanged.outcomes)
        #expect(changed.rowCounts.map(\.rows) == liteChanged.rowCounts.map(\.rows))
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats WHERE updated_at = '2031-01-01T00:00:00Z'") == "50")
        try expectNoOrphans(cluster, database)
        // Stale and unchanged analyses still mark the threat as read.
        #expect(try cluster.psql(database, "SELECT count(DISTINCT last_ingested_at) > 1 FROM threats") == "t")
    }

    /// Agents shared by many threats, whose state differs from threat to threat: the latest
    /// analysis of each agent wins on PostgreSQL as on SQLite, whether a batch commits before the
    /// next one starts (batches of 150: each commit is still in the air while the next batch is
    /// built) or spans several flushes (2,500: an agent's rows are written once, at the commit).
    @Test func agentsSharedAcrossBatchesAndFlushesEndAsInSQLite() async throws {
        let cluster = try PostgresCluster.shared
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let set = SyntheticAnalyses(count: 3000, seed: 13, agentCount: 40)
        let path = try directory.file("a.ndjson", (0 ..< 3000).map { set.body($0) }.joined(separator: "\n"))
        _ = try await importFiles([path], into: directory.path("lite.sqlite"))
        let sqlite = try Database(path: directory.path("lite.sqlite"))
        // One text per row, the same expression on both backends (columns as text, NULL as '').
        func joined(_ columns: [String], cast: String) -> String {
            columns.map { "coalesce(\($0)\(cast), '')" }.joined(separator: " || '|' || ")
        }
        let queries = [
            (["agent_id", "active_threats", "agent_computer_name", "agent_network_status", "last_threat_id", "group_id"], "agents ORDER BY agent_id"),
            (["agent_id", "interface_id", "position", "name", "mac"], "interfaces ORDER BY agent_id, interface_id"),
            (["agent_id", "interface_id", "family", "address"], "interface_addresses"),
        ]
        let lite = try queries.map { columns, from in
            try sqlite.query("SELECT \(joined(columns, cast: "")) FROM \(from)").compactMap { $0.first?.textValue }.sorted()
        }
        let liteAgents = lite[0]
        #expect(liteAgents.count == 40)
        for batchSize in [150, 2500] {
            let database = try cluster.createDatabase()
            let summary = try await importInto(cluster.provider(database), [path], batchSize: batchSize)
            #expect(summary.outcomes[.inserted] == 3000)
            for ((columns, from), expected) in zip(queries, lite) {
                let rows = try cluster.psql(database, "SELECT \(joined(columns, cast: "::text")) FROM \(from)")
                #expect(rows.split(separator: "\n").map(String.init).sorted() == expected, "\(from), batches of \(batchSize)")
            }
            try expectNoOrphans(cluster, database)
        }
    }

    /// Repeated keys in a threat's child rows are left out as SQLite's INSERT OR IGNORE leaves
    /// them out: a few (compared row by row) and many (through a set of keys, past 16 rows).
    @Test func repeatedChildKeysAreLeftOutAsInSQLite() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let set = SyntheticAnalyses(count: 3, seed: 21)
        func options(_ names: [String]) -> String { "\"whiteningOptions\":[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        let few = ["hash", "path", "hash", "certificate", "path"]
        let many = (0 ..< 40).map { "option-\($0 % 23)" } + ["option-22", "option-0"]
        let bodies = [few, many, []].enumerated().map { index, names in
            set.body(index).replacing(#/"whiteningOptions":\[[^\]]*\]/#, with: options(names))
        }
        #expect(bodies[0].contains(options(few)) && bodies[1].contains(options(many)))
        let path = try directory.file("a.ndjson", bodies.joined(separator: "\n"))
        let lite = try await importFiles([path], into: directory.path("lite.sqlite"))
        let pg = try await importInto(cluster.provider(database), [path])
        #expect(pg.outcomes[.inserted] == 3)
        #expect(pg.rowCounts.map(\.rows) == lite.rowCounts.map(\.rows))
        #expect(try cluster.psql(database, "SELECT count(*) FROM whitening_options WHERE threat_id = '\(set.threatId(0))'") == "3")
        #expect(try cluster.psql(database, "SELECT count(*) FROM whitening_options WHERE threat_id = '\(set.threatId(1))'") == "23")
    }

    @Test func aDifferentlyFormattedBodyIsUnchanged() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let body = SyntheticAnalyses(count: 1, seed: 3).body(0)
        let compact = try directory.file("a.json", body)
        let spaced = try directory.file("b.json", body.replacingOccurrences(of: "\":", with: "\" :  "))
        #expect(try await importInto(provider, [compact]).outcomes[.inserted] == 1)
        #expect(try await importInto(provider, [spaced]).outcomes[.unchanged] == 1)
        // The body stays as first received.
        #expect(try cluster.psql(database, "SELECT position('\" :  ' in body::text) FROM raw_analyses") == "0")
    }

    @Test func theCommandLineImportsAndMigratesThroughTheURL() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let binary = Repository.root.appendingPathComponent(".build/debug/s1ingest").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("no .build/debug/s1ingest: run swift build first")
            return
        }
        func s1ingest(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
            let result = try ChildProcess.run(binary, arguments, environment: environment ?? cluster.environment)
            return (result.status, String(decoding: result.stdout + result.stderr, as: UTF8.self))
        }
        let url = cluster.url(database)
        let migrate = try s1ingest(["migrate", "--db", url])
        #expect(migrate.status == 0, "\(migrate.output)")
        let imported = try s1ingest(["import", "--json", "--quiet", "--db", url] + Fixture.all.map(Fixture.path))
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("\"stored\":"))
        #expect(!imported.output.contains(cluster.password))
        let count = try cluster.psql(database, "SELECT count(*) FROM threats")
        #expect(Int(count) ?? 0 > 0)
        // The other commands on the same URL.
        let query = try s1ingest(["query", "--db", url, "SELECT count(*) AS n FROM threat_overview"])
        #expect(query.status == 0 && query.output.contains(count), "\(query.output)")
        let refused = try s1ingest(["query", "--db", url, "DELETE FROM threats"])
        #expect(refused.status != 0 && refused.output.contains("read-only"), "\(refused.output)")
        let exported = try s1ingest(["export", "--db", url, "--view", "threat_overview", "--format", "jsonl"])
        #expect(exported.status == 0 && exported.output.split(separator: "\n").count == Int(count), "\(exported.output.prefix(300))")
        let metadata = "SELECT md5(string_agg(threat_id || coalesce(source, '') || ingested_at::text, ',' ORDER BY threat_id)) FROM raw_analyses"
        let before = try cluster.psql(database, metadata)
        let rebuilt = try s1ingest(["rebuild", "--json", "--db", url])
        #expect(try cluster.psql(database, metadata) == before, "rebuild changed the raw bodies' source or time")
        #expect(rebuilt.status == 0 && rebuilt.output.contains("\"rebuilt\":\(count)"), "\(rebuilt.output)")
        let runs = try s1ingest(["runs", "--db", url])
        #expect(runs.status == 0 && runs.output.contains("rebuild"), "\(runs.output)")
        let pruned = try s1ingest(["prune", "--older-than", "1d", "--dry-run", "--db", url])
        #expect(pruned.status == 0, "\(pruned.output)")
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == count)
        // A refused password: exit 2 and a message that says what to check.
        var environment = cluster.environment
        environment["PGPASSWORD"] = "wrong-password-123"
        let (status, output) = try s1ingest(["migrate", "--db", url], environment: environment)
        #expect(status == 2)
        #expect(output.contains("refused the login") && !output.contains("wrong-password-123"), "\(output)")
    }
}
