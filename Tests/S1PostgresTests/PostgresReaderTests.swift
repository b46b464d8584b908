import Foundation
import Testing
import S1IngestCore
import S1Testing
@testable import S1Postgres

/// `query` and `export` on PostgreSQL: a READ ONLY transaction and the statement check.
@Suite(.serialized) struct PostgresReaderTests {
    @Test func exportsTheSameRowsAsSQLite() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let paths = Fixture.all.map(Fixture.path)
        _ = try await importFiles(paths, into: directory.path("lite.sqlite"))
        _ = try await Importer(options: ImportOptions(databasePath: provider.location, inputs: paths), store: provider).run()
        let sql = """
            SELECT threat_id, created_at, updated_at, is_fileless, file_size, classification, agent_id FROM threats ORDER BY threat_id
            """
        let options = ExportOptions(format: .jsonl)
        try ExportJob(databasePath: directory.path("lite.sqlite"), target: .query(sql), outputPath: directory.path("lite.jsonl"), options: options).run()
        try ExportJob(databasePath: "", target: .query(sql), outputPath: directory.path("pg.jsonl"), options: options)
            .run(reader: provider.openReader())
        let lite = try String(contentsOfFile: directory.path("lite.jsonl"), encoding: .utf8)
        let pg = try String(contentsOfFile: directory.path("pg.jsonl"), encoding: .utf8)
        #expect(!lite.isEmpty)
        #expect(pg == lite)

        // A view, and a statement with no rows still names its columns.
        let reader = try provider.openReader()
        let overview = try reader.selectAll(view: "threat_overview").allRows()
        #expect(overview.count == Int(try cluster.psql(database, "SELECT count(*) FROM threats")))
        let empty = try reader.query("SELECT threat_id, created_at FROM threats WHERE false")
        #expect(empty.columnNames == ["threat_id", "created_at"])
        #expect(try reader.tableNames().contains("raw_analyses"))
        #expect(try reader.query("SELECT body->'data'->'threatInfo'->>'threatId' AS id FROM raw_analyses WHERE body->'data' IS NOT NULL LIMIT 1").allRows().count == 1)
        #expect(try reader.query("SELECT count(*) FROM threats WHERE threat_id = ?1", [.text("0")]).allRows() == [[.integer(0)]])
    }

    @Test func nothingThroughTheReaderChangesData() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        try provider.migrate()
        try cluster.psql(database, "INSERT INTO consoles (console, first_seen_at, last_seen_at) VALUES ('default', now(), now())")
        let reader = try provider.openReader()
        for sql in ["DELETE FROM consoles", "UPDATE consoles SET url = 'x'", "DROP TABLE consoles", "COMMIT",
                    "SET default_transaction_read_only = off", "COPY consoles FROM STDIN"] {
            #expect(throws: ReportingError.statementNotReadOnly(sql: sql)) { try reader.query(sql) }
        }
        // A write hidden in a WITH is refused by the READ ONLY transaction.
        let hidden = "WITH gone AS (DELETE FROM consoles RETURNING 1) SELECT count(*) FROM gone"
        #expect(throws: ReportingError.statementNotReadOnly(sql: hidden)) { try reader.query(hidden) }
        #expect(throws: ReportingError.multipleStatements(sql: "SELECT 1; DELETE FROM consoles")) {
            try reader.query("SELECT 1; DELETE FROM consoles")
        }
        #expect(throws: ReportingError.emptyStatement) { try reader.query("  -- nothing\n") }
        // The reader still answers after a refused statement.
        #expect(try reader.query("SELECT count(*) FROM consoles").allRows() == [[.integer(1)]])
        #expect(try cluster.psql(database, "SELECT count(*) FROM consoles") == "1")
    }

    /// A query's rows come from a server-side cursor a page at a time: every row, in order,
    /// whatever the page size; `reset` runs the statement again; an error in a later page is
    /// thrown by the `step` that meets it, and the reader still answers after it.
    @Test func rowsAreStreamedAPageAtATime() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        try provider.migrate()
        let reader = try #require(try provider.openReader() as? PostgresReader)
        reader.fetchRows = 100
        let cursor = try #require(try reader.query("SELECT g AS n, repeat('x', g % 7) AS pad FROM generate_series(1, 2345) g ORDER BY g") as? PostgresCursor)
        #expect(cursor.columnNames == ["n", "pad"])
        var seen: [Int64] = []
        var held = 0
        while try cursor.step() {
            seen.append(cursor.int64(0))
            held = max(held, cursor.rows.count)
        }
        #expect(seen == Array(1 ... 2345))
        #expect(held == 100, "a page at a time")
        cursor.reset()
        #expect(try cursor.allRows().count == 2345)
        #expect(try reader.query("SELECT g FROM generate_series(1, 200) g").allRows().count == 200, "exactly two pages")
        #expect(try reader.query("SELECT 1 WHERE false").allRows().isEmpty)

        // Row 1,500 divides by zero: the first pages come, then the error.
        let failing = try reader.query("SELECT 1 / (1500 - g) FROM generate_series(1, 3000) g")
        var before = 0
        #expect(throws: PostgresStoreError.self) {
            while try failing.step() { before += 1 }
        }
        #expect(before >= 1400 && before < 1500, "\(before) rows before the error")
        #expect(try reader.query("SELECT count(*) FROM consoles").allRows() == [[.integer(0)]])
        // Other statements still run whole.
        #expect(try reader.query("SHOW TimeZone").allRows().count == 1)
        #expect(try reader.query("EXPLAIN SELECT 1").allRows().count >= 1)
    }
}
