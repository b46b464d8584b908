import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

@Suite struct SyncCommandTests {
    static let token = "cli-sync-secret-token-8f3a"

    func start(count: Int) async throws -> (MockConsole, [String: String]) {
        let set = SyntheticAnalyses(count: count, seed: 9)
        let console = try await MockConsole.start(MockConsoleConfiguration(analyses: set, token: Self.token))
        return (console, ["S1_API_TOKEN": Self.token, "S1_CONSOLE_URL": console.baseURL])
    }

    func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    @Test func jsonSummaryOnStdoutAndJsonEventsOnStderr() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, env) = try await start(count: 1500)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("s.sqlite")
        let result = try await runBinary(["sync", "--db", db, "--since", "2020-01-01", "--json", "--log-format", "json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let summary = try #require(object(String(lines[0])))
        #expect(summary["command"] as? String == "sync")
        #expect(summary["status"] as? String == "ok")
        #expect(summary["listed"] as? Int == 1500)
        #expect(summary["pages"] as? Int == 2)
        #expect(summary["stored"] as? Int == 1500)
        #expect(summary["watermark_advanced"] as? Bool == true)
        let events = result.stderr.split(separator: "\n")
        #expect(!events.isEmpty)
        for event in events {
            let parsed = object(String(event))
            #expect(parsed != nil, "not one JSON object: \(event)")
            #expect(parsed?["time"] is String && parsed?["level"] is String && parsed?["message"] is String)
        }
        #expect(events.contains { $0.contains("watermark moved") })
        #expect(!result.stderr.contains(Self.token) && !result.stdout.contains(Self.token))

        // Text events: one line each, time first. Without an overlap only the boundary
        // threat is listed again.
        let again = try await runBinary(["sync", "--db", db, "--log-format", "text", "--overlap", "0"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("1 already stored"))
        for line in again.stderr.split(separator: "\n") {
            #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (info|warning|error) "#, options: .regularExpression) != nil, "\(line)")
        }
        // The default overlap lists the last 5 minutes before the watermark again (threats
        // 37 s apart: 9 of them), fetches none of them, and does not move the watermark.
        let overlap = try await runBinary(["sync", "--db", db, "--json"], environment: env)
        #expect(overlap.status == 0, "\(overlap.stderr)")
        let third = try #require(object(overlap.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(third["listed"] as? Int == 9)
        #expect(third["already_stored"] as? Int == 9)
        #expect(third["requested"] as? Int == 0)
        #expect(third["watermark_advanced"] as? Bool == false)
        #expect(third["behind_list"] as? Int == 0)
        // `runs` shows all three.
        let runs = try await runBinary(["runs", "--db", db, "--json"], environment: env)
        #expect(runs.stdout.split(separator: "\n").compactMap { object(String($0))?["command"] as? String } == ["sync", "sync", "sync"])
    }

    @Test func exitCodesForAuthenticationAndUsage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, env) = try await start(count: 5)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("e.sqlite")
        var wrong = env
        wrong["S1_API_TOKEN"] = "not-the-token"
        let refused = try await runBinary(["sync", "--db", db, "--log-format", "json"], environment: wrong)
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").contains { object(String($0))?["level"] as? String == "error" })
        #expect(!refused.stderr.contains("not-the-token"))
        #expect(try await runBinary(["sync", "--db", db, "--since", "yesterday"], environment: env).status == 64)
        #expect(try await runBinary(["sync", "--db", db, "--site", "abc"], environment: env).status == 64)
        #expect(try await runBinary(["sync", "--db", db, "--log-format", "xml"], environment: env).status == 64)
        #expect(try await runBinary(["sync", "--db", db, "--overlap", "5x"], environment: env).status == 64)
        #expect(try await runBinary(["prune", "--db", db, "--older-than", "90"], environment: env).status == 64)
    }

    @Test func pruneReportsWhatItRemoved() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, env) = try await start(count: 40)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("p.sqlite")
        #expect(try await runBinary(["sync", "--db", db, "--since", "2020-01-01"], environment: env).status == 0)
        do {
            let database = try StoreOpener.openForWriting(path: db)
            try database.execute("UPDATE threats SET last_ingested_at = '2020-01-01T00:00:00.000000Z' WHERE rowid % 4 = 0")
        }
        let old = Int(try StoreOpener.openForReading(path: db).scalar("SELECT count(*) FROM threats WHERE last_ingested_at < '2021'").integerValue ?? 0)
        #expect(old > 0)
        let dry = try await runBinary(["prune", "--db", db, "--older-than", "90d", "--dry-run"], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would delete"))
        let result = try await runBinary(["prune", "--db", db, "--older-than", "90d", "--json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(object(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let deleted = try #require(report["deleted"] as? [String: Int])
        #expect(deleted["threats"] == old)
        #expect(deleted["raw_analyses"] == old)
        #expect(deleted["ingest_queue"] == old)
        #expect((deleted["mitigations"] ?? 0) > 0)
        #expect(deleted["agents"] != nil && deleted["interfaces"] != nil && deleted["interface_addresses"] != nil)
        #expect(storedThreats(db) == 40 - old)
        let none = try await runBinary(["prune", "--db", db, "--older-than", "90d", "--raw-only"], environment: env)
        #expect(none.status == 0)
        #expect(none.stdout.contains("raw_analyses"))
        let missing = try await runBinary(["prune", "--db", directory.path("none.sqlite"), "--older-than", "1d"], environment: env)
        #expect(missing.status == 2)
        #expect(!FileManager.default.fileExists(atPath: directory.path("none.sqlite")))
    }
}
