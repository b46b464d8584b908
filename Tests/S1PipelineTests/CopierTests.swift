import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `Copier` between two SQLite files: the same code path as to PostgreSQL, through the
/// storage protocols.
@Suite struct CopierTests {
    @Test func sqliteToSqliteCopiesEverythingOnceAndLeavesTheSourceAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 200, directory: directory)
        let source = SQLiteStoreProvider(path: path)
        let expected = try CopyTestData.snapshot(source)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let target = SQLiteStoreProvider(path: directory.path("copy.sqlite"))

        let summary = try Copier(from: source, to: target, options: CopyOptions(batchSize: 50)).run()
        #expect(summary.status == "ok")
        #expect(summary.threatTally.copied == summary.threats && summary.threats > 200)
        #expect(summary.runs.copied == 3 && summary.queue.copied == 4 && summary.watermarks.copied == 2 && summary.paces.copied == 1)
        #expect(summary.consoles.copied == 2)
        #expect(CopyTestData.differences(expected, try CopyTestData.snapshot(target)) == [])

        let again = try Copier(from: source, to: target).run()
        #expect(again.changedNothing)
        #expect(again.threatTally.unchanged == summary.threats)
        #expect(CopyTestData.differences(expected, try CopyTestData.snapshot(target)) == [])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // The copy is a database like any other: checked by SQLite itself.
        let copy = try Database(path: target.path, mode: .readOnly)
        #expect(try copy.query("PRAGMA foreign_key_check").isEmpty)
        #expect(try copy.scalar("PRAGMA integrity_check").textValue == "ok")
    }

    @Test func aCopyCutShortIsFinishedByTheNextAndEqualsAWholeOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 300, directory: directory)
        let source = SQLiteStoreProvider(path: path)
        let whole = SQLiteStoreProvider(path: directory.path("whole.sqlite"))
        _ = try Copier(from: source, to: whole, options: CopyOptions(batchSize: 40)).run()

        // Stopped after the second committed batch (as SIGINT does), then run again.
        let cut = SQLiteStoreProvider(path: directory.path("cut.sqlite"))
        let stop = StopRequest()
        let copier = Copier(from: source, to: cut, options: CopyOptions(batchSize: 40), stop: stop)
        var batches = 0
        copier.onProgress = { _, _ in
            batches += 1
            if batches == 2 { stop.request() }
        }
        let stopped = try copier.run()
        #expect(stopped.status == "stopped")
        #expect(stopped.threatTally.copied == 80)
        let resumed = try Copier(from: source, to: cut, options: CopyOptions(batchSize: 40)).run()
        #expect(resumed.status == "ok")
        #expect(resumed.threatTally.unchanged == 80)
        #expect(resumed.threatTally.copied == resumed.threats - 80)
        #expect(CopyTestData.differences(try CopyTestData.snapshot(whole), try CopyTestData.snapshot(cut)) == [])
    }

    @Test func aMissingOrForeignSourceIsRefusedWithItsPath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let target = SQLiteStoreProvider(path: directory.path("copy.sqlite"))
        let missing = directory.path("nothing-here.sqlite")
        #expect { try Copier(from: SQLiteStoreProvider(path: missing), to: target).run() } throws: { "\($0)".contains(missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))

        let foreign = directory.path("foreign.sqlite")
        let database = try Database(path: foreign)
        try database.execute("CREATE TABLE notes (body TEXT)")
        #expect { try Copier(from: SQLiteStoreProvider(path: foreign), to: target).run() } throws: {
            "\($0)".contains(foreign) && "\($0)".contains("did not create")
        }
        #expect { try Copier(from: target, to: target).run() } throws: { ($0 as? CopyError) == .sameStore(location: target.path) }
    }

    @Test func aConsoleWithAnotherURLInTheDestinationStopsTheCopyBeforeAnything() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        try await CopyTestData.makeSource(path, analyses: 10, otherConsole: 0, directory: directory)
        let target = SQLiteStoreProvider(path: directory.path("copy.sqlite"))
        let store = try target.openForWriting()
        _ = try store.registerConsole(name: "acme", url: "https://elsewhere.example.org")
        store.finishWriting()
        #expect { try Copier(from: SQLiteStoreProvider(path: path), to: target).run() } throws: {
            "\($0)".contains("acme") && "\($0)".contains("elsewhere.example.org")
        }
        #expect(try count(Database(path: target.path, mode: .readOnly), "threats") == 0)
    }
}
