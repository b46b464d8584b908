import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// The console dimension (issue 14) on PostgreSQL, and the model it shares with SQLite.
@Suite(.serialized) struct PostgresConsoleTests {
    @Test func tablesAndViewsHaveSQLitesColumnsInItsOrder() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        try cluster.provider(database).migrate()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        _ = try SQLiteStoreProvider(path: directory.path("lite.sqlite")).migrate()
        let sqlite = try Database(path: directory.path("lite.sqlite"))
        let relations = try sqlite.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0.first?.textValue }
        #expect(relations.count > 15)
        for name in relations {
            let lite = try sqlite.query("SELECT name FROM pragma_table_info(?1) ORDER BY cid", [.text(name)]).compactMap { $0.first?.textValue }
            let pg = try cluster.psql(database, """
                SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = '\(name)' AND (table_name, column_name) NOT IN (('ingest_queue', 'lease_owner'), ('ingest_queue', 'lease_expires_at'))
                """)
            #expect(pg == lite.joined(separator: ","), "\(name): PostgreSQL and SQLite disagree")
        }
    }

    @Test func aThreatOrAgentOfAnotherConsoleIsAConflict() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let set = SyntheticAnalyses(count: 40, seed: 11, agentCount: 4)
        let first = try directory.file("a.ndjson", (0 ..< 20).map { set.body($0) }.joined(separator: "\n"))
        let second = try directory.file("b.ndjson", (0 ..< 40).map { set.body($0) }.joined(separator: "\n"))
        func run(_ path: String, console: String) async throws -> ImportSummary {
            var options = ImportOptions(databasePath: provider.location, inputs: [path], batchSize: 7)
            options.console = console
            return try await Importer(options: options, store: provider).run()
        }
        let a = try await run(first, console: "alpha")
        #expect(a.outcomes[.inserted] == 20)
        // The same threats, and new threats of the same agents, from another console: refused.
        let b = try await run(second, console: "beta")
        #expect(b.outcomes[.conflict] == 40)
        #expect(b.outcomes[.inserted] == nil)
        #expect(try cluster.psql(database, "SELECT string_agg(DISTINCT console, ',') FROM threats") == "alpha")
        #expect(try cluster.psql(database, "SELECT string_agg(DISTINCT console, ',') FROM agents") == "alpha")
        #expect(try cluster.psql(database, "SELECT string_agg(console, ',' ORDER BY console) FROM consoles") == "alpha,beta")
        // Its own console again: unchanged, and the new ones inserted.
        let again = try await run(second, console: "alpha")
        #expect(again.outcomes[.unchanged] == 20 && again.outcomes[.inserted] == 20)
    }

    @Test func consolesAreNamedAsSQLiteNamesThem() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let store = try cluster.provider(database).openForWriting()
        // A single-console database names its console `default`, whatever its URL.
        #expect(try store.registerConsole(name: nil, url: "https://acme.example") == ConsoleRef(name: "default", url: "https://acme.example"))
        // A second URL gets a name made of its host.
        #expect(try store.registerConsole(name: nil, url: "https://other.example:8443").name == "other-example-8443")
        // The consoles file names the first: `default` is renamed everywhere.
        try store.enqueue(["1"], console: "default", runId: nil)
        #expect(try store.registerConsole(name: "acme", url: "https://acme.example").name == "acme")
        #expect(try cluster.psql(database, "SELECT console FROM ingest_queue") == "acme")
        #expect(throws: ConsoleStoreError.nameHasAnotherURL(name: "acme", stored: "https://acme.example", given: "https://third.example")) {
            try store.registerConsole(name: "acme", url: "https://third.example")
        }
        #expect(try store.consoles().map(\.name) == ["acme", "other-example-8443"])
    }
}
