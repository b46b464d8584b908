import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `rebuild` and `coverage` through the real binary, on databases `import` filled.
@Suite(.serialized) struct UpkeepCommandTests {
    /// Every table's rows, sorted, as text: two databases with the same digest hold the same rows.
    static func digest(_ db: String) throws -> [String: [String]] {
        let database = try Database(path: db, mode: .readOnly)
        var tables: [String: [String]] = [:]
        for table in Table.allCases {
            tables[table.name] = try database.query("SELECT * FROM \(table.name)").map { "\($0)" }.sorted()
        }
        return tables
    }

    func importedDatabase(count: Int, in directory: TemporaryDirectory) async throws -> String {
        let input = directory.path("analyses.ndjson")
        let generated = try await runBinary(["generate", "--count", String(count), "-o", input])
        #expect(generated.status == 0, "\(generated.stderr)")
        let db = directory.path("threats.sqlite")
        let imported = try await runBinary(["import", "--db", db, input])
        #expect(imported.status == 0, "\(imported.stderr)")
        return db
    }

    @Test func rebuildDerivesEveryTableAgainFromTheRawBodies() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await importedDatabase(count: 400, in: directory)
        let original = try Self.digest(db)
        // What a flattening bug (or an older version) could have left: rows lost or wrong.
        let damage = try Database(path: db)
        try damage.execute("DELETE FROM mitigations; DELETE FROM interface_addresses; UPDATE threats SET classification = NULL; UPDATE agents SET agent_os_name = 'wrong'")
        #expect(try Self.digest(db) != original)

        let result = try await runBinary(["rebuild", "--db", db, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["rebuilt"] as? Int == 400)
        #expect((summary["rows_before"] as? [String: Int])?["mitigations"] == 0)
        #expect((summary["rows_after"] as? [String: Int])?["mitigations"] == original["mitigations"]?.count)
        // Rows, ingest times and each agent's latest state as after the import itself.
        #expect(try Self.digest(db) == original)
        let runs = try await runBinary(["runs", "--db", db, "--json", "--limit", "1"])
        #expect(runs.stdout.contains("\"command\":\"rebuild\"") && runs.stdout.contains("\"status\":\"ok\""), "\(runs.stdout)")
    }

    @Test func aKilledRebuildResumesWhereItGotTo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await importedDatabase(count: 6000, in: directory)
        let original = try Self.digest(db)
        try Database(path: db).execute("DELETE FROM engines; DELETE FROM detection_engines")
        let run = try BackgroundRun.start(["rebuild", "--db", db, "--batch-size", "200"], environment: [:], directory: directory,
                                          name: "rebuild")
        let progressed = await signal(SIGKILL, to: run) {
            guard let database = try? Database(path: db, mode: .readOnly),
                  let message = try? database.scalar("SELECT message FROM ingest_runs WHERE command = 'rebuild'").textValue else { return false }
            return message.hasPrefix("rebuilt up to raw body row")
        }
        #expect(progressed, "the rebuild showed no progress: \(run.stderr)")
        _ = await run.wait()
        let resumed = try await runBinary(["rebuild", "--db", db, "--json", "--batch-size", "200"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect(summary["resumed_after"] as? Int ?? 0 > 0, "\(resumed.stdout)")
        #expect(summary["rebuilt"] as? Int ?? 6000 < 6000)
        #expect(try Self.digest(db) == original)
    }

    @Test func rebuildOfSomeThreatsAndOfOneWithNoRawBody() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await importedDatabase(count: 20, in: directory)
        let id = try #require(try Database(path: db, mode: .readOnly).scalar("SELECT min(threat_id) FROM threats").textValue)
        let some = try await runBinary(["rebuild", "--db", db, "--threat", id, "--json"])
        #expect(some.status == 0, "\(some.stderr)")
        #expect(some.stdout.contains("\"rebuilt\":1"), "\(some.stdout)")
        let missing = try await runBinary(["rebuild", "--db", db, "--threat", id, "--threat", "42"])
        #expect(missing.status == 1, "\(missing.stdout) \(missing.stderr)")
        #expect(missing.stdout.contains("no raw body for threat 42"))
        let bad = try await runBinary(["rebuild", "--db", db, "--threat", "abc"])
        #expect(bad.status == 64)
    }

    @Test func coverageNamesTheColumnOfEveryPathAndWhatOnlyTheRawBodyHolds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await importedDatabase(count: 50, in: directory)
        // A newer console's key that no column models yet.
        let extra = directory.path("newer.json")
        try #"{"data": {"threatInfo": {"threatId": "9000000000000000001", "classification": "Malware", "aiVerdictScore": 97}, "agentRealtimeInfo": {"agentId": "77", "newAgentFlag": false}}}"#
            .write(toFile: extra, atomically: true, encoding: .utf8)
        #expect(try await runBinary(["import", "--db", db, extra]).status == 0)

        let result = try await runBinary(["coverage", "--db", db, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["threats"] as? Int == 51)
        let paths = Dictionary(uniqueKeysWithValues: ((report["paths"] as? [[String: Any]]) ?? []).map {
            ($0["path"] as? String ?? "", ($0["threats"] as? Int ?? -1, $0["column"] as? String ?? ""))
        })
        #expect(paths["data.threatInfo.classification"]?.0 == 51)
        #expect(paths["data.threatInfo.classification"]?.1 == "threats.classification")
        #expect(paths["data.mitigationStatus[].actionsCounters.failed"]?.1 == "mitigations.actions_failed")
        #expect(paths["data.agentRealtimeInfo.networkInterfaces[].inet[]"]?.1 == "interface_addresses.address")
        #expect(paths["data.threatInfo.aiVerdictScore"]?.0 == 1 && paths["data.threatInfo.aiVerdictScore"]?.1 == "raw only")
        #expect(paths["data.agentRealtimeInfo.newAgentFlag"]?.1 == "raw only")

        let rawOnly = try await runBinary(["coverage", "--db", db, "--raw-only"])
        #expect(rawOnly.stdout.contains("data.threatInfo.aiVerdictScore") && !rawOnly.stdout.contains("data.threatInfo.classification"))
    }
}
