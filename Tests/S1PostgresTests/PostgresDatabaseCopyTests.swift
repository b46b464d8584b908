import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// `s1ingest copy` between SQLite and PostgreSQL (a real cluster): everything arrives, the
/// views read the same, copying again changes nothing, and back again gives the same file.
@Suite(.serialized) struct PostgresDatabaseCopyTests {
    @Test func sqliteToPostgresCarriesEverythingAndAgainChangesNothing() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase("copy")
        let target = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 300, directory: directory)
        let source = SQLiteStoreProvider(path: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let expected = try CopyTestData.snapshot(source)

        let summary = try Copier(from: source, to: target, options: CopyOptions(batchSize: 64)).run()
        #expect(summary.status == "ok")
        #expect(summary.threats == expected["count threats"]?.first?.first?.integerValue.map(Int.init))
        #expect(summary.threatTally.copied == summary.threats)
        #expect(summary.threatTally.conflicts == 0)
        #expect(summary.consoles.copied == 2)
        #expect(summary.runs.copied == 3)
        #expect(summary.queue.copied == 4)
        #expect(summary.watermarks.copied == 2)
        #expect(summary.paces.copied == 1)
        #expect(!summary.changedNothing)

        let copied = try CopyTestData.snapshot(target)
        #expect(CopyTestData.differences(expected, copied) == [])
        #expect(copied["threat_overview"]?.count == summary.threats)
        // The raw bodies byte for byte, checked on the server's side too.
        let rawBytes = try cluster.psql(database, "SELECT sum(octet_length(body::text)) FROM raw_analyses")
        let liteBytes = try Database(path: path, mode: .readOnly).scalar("SELECT sum(length(CAST(body AS BLOB))) FROM raw_analyses").integerValue
        #expect(rawBytes == liteBytes.map(String.init))

        // Again: nothing changes, and the summary says so.
        let again = try Copier(from: source, to: target).run()
        #expect(again.changedNothing)
        #expect(again.threatTally.unchanged == summary.threats)
        #expect(again.runs.unchanged == 3 && again.queue.unchanged == 4 && again.watermarks.unchanged == 2 && again.paces.unchanged == 1)
        #expect(CopyTestData.differences(expected, try CopyTestData.snapshot(target)) == [])
        // The source was only read.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)

        // Back from PostgreSQL into a new SQLite file: the same contents as the original.
        let back = SQLiteStoreProvider(path: directory.path("back.sqlite"))
        let returned = try Copier(from: target, to: back).run()
        #expect(returned.threatTally.copied == summary.threats)
        #expect(CopyTestData.differences(expected, try CopyTestData.snapshot(back)) == [])
    }

    @Test func aThreatOfAnotherConsoleInTheDestinationIsAConflictAndKept() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase("copyconflict")
        let target = cluster.provider(database)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 40, otherConsole: 0, directory: directory)
        // The destination already holds two of the threats, for console 'other'.
        let set = SyntheticAnalyses(count: 40, seed: 11)
        let file = try directory.file("other.ndjson", [set.body(3), set.body(4)].joined(separator: "\n"))
        var options = ImportOptions(databasePath: target.location, inputs: [file])
        options.console = "other"
        _ = try await Importer(options: options, store: target).run()

        let summary = try Copier(from: SQLiteStoreProvider(path: path), to: target).run()
        #expect(summary.threatTally.conflicts >= 2)
        #expect(summary.status == "partial")
        #expect(summary.conflictDetails.contains { $0.contains(set.threatId(3)) || $0.contains("other") })
        #expect(try cluster.psql(database, "SELECT console FROM threats WHERE threat_id = '\(set.threatId(3))'") == "other")
    }

    @Test func anUnreachableDestinationSaysWhereAndNothingIsRead() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 5, otherConsole: 0, directory: directory)
        let hostPort = ClosedPort.url(scheme: "postgresql").replacingOccurrences(of: "postgresql://", with: "")
        var closed = PostgresStoreProvider(url: "postgresql://nobody@\(hostPort)/threats?sslmode=disable", warn: { _ in })
        closed.environment = ["PGPASSWORD": "secret-password-not-shown", "HOME": "/nonexistent"]
        do {
            _ = try Copier(from: SQLiteStoreProvider(path: path), to: closed).run()
            Issue.record("copy to a closed port succeeded")
        } catch {
            let message = "\(error)"
            #expect(message.contains(hostPort))
            #expect(!message.contains("secret-password-not-shown"))
        }
    }
}
