import Foundation
import Testing
import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct ImportCommandTests {
    @Test func importsGeneratedAnalysesAndExitsZero() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let input = directory.path("in.ndjson")
        let set = SyntheticAnalyses(count: 30)
        try (0..<30).map { set.body($0) }.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let db = directory.path("t.sqlite")
        let result = try await runBinary(["import", "--db", db, input])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored     30"))
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT count(*) FROM threats") == .integer(30))
    }

    @Test func skippedDocumentsGiveExitStatusOneWithFileAndLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let set = SyntheticAnalyses(count: 2)
        let input = directory.path("mixed.ndjson")
        try [set.body(0), "{\"data\": {\"threatInfo\": {}}}", set.body(1)].joined(separator: "\n")
            .write(toFile: input, atomically: true, encoding: .utf8)
        let db = directory.path("t.sqlite")
        let result = try await runBinary(["import", "--db", db, input])
        #expect(result.status == 1)
        #expect(result.stderr.contains("mixed.ndjson:2"))
        #expect(result.stderr.contains("threatId"))
        #expect(result.stdout.contains("stored     2"))
    }

    @Test func databaseFromEnvironmentAndJSONSummary() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("env.sqlite")
        let body = SyntheticAnalyses(count: 1).body(0)
        let result = try await runBinary(["import", "--json", "-"], stdin: Data(body.utf8), environment: ["S1INGEST_DB": db])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(summary?["stored"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: db))
    }
}
