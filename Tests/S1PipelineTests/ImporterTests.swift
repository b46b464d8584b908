import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct ImporterTests {
    @Test func everyFixtureImports() async throws {
        let scratch = try TemporaryDirectory()
        let db = scratch.path("f.sqlite")
        let summary = try await importFiles(Fixture.all.map(Fixture.path), into: db)
        #expect(summary.problemCount == 0, "\(summary.problems)")
        #expect(summary.analysesFound == 5)
        let database = try StoreOpener.openForReading(path: db)
        #expect(try count(database, "threats") == 4)  // the capture appears twice (plain and Swimlane-wrapped)
        #expect(try database.scalar("PRAGMA integrity_check") == "ok")
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
    }

    @Test func capture2022StoredValues() async throws {
        let scratch = try TemporaryDirectory()
        let db = scratch.path("c.sqlite")
        _ = try await importFiles([Fixture.path(Fixture.capture2022)], into: db)
        let database = try StoreOpener.openForReading(path: db)
        let id = "threat_id = '1311010474425970168'"
        #expect(try count(database, "interfaces", where: "agent_id = '1286438987267469377'") == 7)
        #expect(try database.query("SELECT address FROM detection_addresses WHERE \(id) AND family = 4 ORDER BY position")
                .compactMap { $0.first?.textValue } == ["10.32.0.165", "172.18.0.1", "172.17.0.1"])
        #expect(try database.query("SELECT address FROM detection_addresses WHERE \(id) AND family = 6 ORDER BY position")
                .compactMap { $0.first?.textValue } == ["fe80::7d:1cff:feeb:36b", "fe80::70da:4eff:fe05:1e14", "fe80::42:94ff:fe48:e0bf",
                                                        "fe80::4cca:b0ff:fec1:86e4", "fe80::3013:22ff:fed7:6ba8", "fe80::250:56ff:febd:78a0"])
        #expect(try database.query("SELECT actions_failed, actions_not_found, actions_pending_reboot, actions_success, actions_total FROM mitigations WHERE \(id)")
                == [[0, 0, 0, 1, 1]])
        #expect(try database.query("SELECT engine_key, title FROM detection_engines WHERE \(id)") == [["pre_execution", "On-Write Static AI"]])
        #expect(try database.scalar("SELECT sha1 FROM threats WHERE \(id)") == "3395856ce81f2b7382dee72602f798b642f14140")
        #expect(try database.scalar("SELECT typeof(file_size) || ':' || file_size FROM threats WHERE \(id)") == "integer:68")
        // The raw body is byte for byte what was read, and json_extract reaches any key.
        let original = try String(contentsOfFile: Fixture.path(Fixture.capture2022), encoding: .utf8)
        #expect(try database.scalar("SELECT body FROM raw_analyses WHERE \(id)") == .text(original.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(try database.scalar("SELECT json_extract(body, '$.data.agentRealtimeInfo.scanStatus') FROM raw_analyses") == "started")
    }

    @Test func importingTwiceChangesNothing() async throws {
        let scratch = try TemporaryDirectory()
        let set = SyntheticAnalyses(count: 200)
        let input = try scratch.file("s.ndjson", (0..<200).map { set.body($0) }.joined(separator: "\n"))
        let db = scratch.path("i.sqlite")
        let first = try await importFiles([input], into: db, batchSize: 37)
        #expect(first.outcomes[.inserted] == 200)
        let before = first.rowCounts.map(\.rows)
        let second = try await importFiles([input], into: db, batchSize: 37)
        #expect(second.outcomes[.unchanged] == 200)
        #expect(second.rowCounts.map(\.rows) == before)
        #expect(first.rowCounts.first { $0.table == "threats" }?.rows == 200)
        #expect(second.rowCounts.first { $0.table == "detection_addresses" }!.rows > 1000)
    }

    @Test func newerDocumentReplacesChildRowsAndOlderOneIsIgnored() async throws {
        let scratch = try TemporaryDirectory()
        let set = SyntheticAnalyses(count: 40)
        let db = scratch.path("r.sqlite")
        let index = try #require((0..<40).first { set.mitigationCount($0) >= 2 && set.indicatorCount($0) >= 1 })
        let id = set.threatId(index)
        // The newer revision has one mitigation, one engine, one indicator with one technique,
        // one detection-time address, and another incident status: every child list shrinks.
        var newer = try #require(try JSONSerialization.jsonObject(with: Data(set.body(index, revision: 1).utf8)) as? [String: Any])
        var data = try #require(newer["data"] as? [String: Any])
        var threatInfo = try #require(data["threatInfo"] as? [String: Any])
        var detection = try #require(data["agentDetectionInfo"] as? [String: Any])
        data["mitigationStatus"] = [["action": "only", "status": "success"]]
        threatInfo["detectionEngines"] = [["key": "sentinelone_cloud", "title": "Cloud Intelligence"]]
        threatInfo["engines"] = ["Cloud Intelligence"]
        data["indicators"] = [["category": "Persistence", "description": "replaced", "ids": [1],
                               "tactics": [["name": "Persistence", "source": "MITRE",
                                            "techniques": [["name": "T9999", "link": "https://attack.mitre.org/techniques/T9999/"]]]]]]
        detection["agentIpV4"] = "192.0.2.7"
        detection["agentIpV6"] = ""
        data["threatInfo"] = threatInfo
        data["agentDetectionInfo"] = detection
        newer["data"] = data
        let newerBody = String(decoding: try JSONSerialization.data(withJSONObject: newer), as: UTF8.self)

        _ = try await importFiles([try scratch.file("old.ndjson", set.body(index))], into: db)
        let database = try StoreOpener.openForReading(path: db)
        let byThreat: [SQLValue] = [.text(id)]
        func rows(_ sql: String) throws -> [[SQLValue]] { try database.query(sql, byThreat) }
        #expect(try rows("SELECT count(*) FROM mitigations WHERE threat_id = ?") == [[.integer(Int64(set.mitigationCount(index)))]])
        #expect(try rows("SELECT count(*) FROM indicators WHERE threat_id = ?") == [[.integer(Int64(set.indicatorCount(index)))]])

        let replaced = try await importFiles([try scratch.file("new.ndjson", newerBody)], into: db)
        #expect(replaced.outcomes[.updated] == 1)
        #expect(try rows("SELECT action FROM mitigations WHERE threat_id = ?") == [["only"]])
        #expect(try rows("SELECT engine_key, title FROM detection_engines WHERE threat_id = ?") == [["sentinelone_cloud", "Cloud Intelligence"]])
        #expect(try rows("SELECT engine FROM engines WHERE threat_id = ?") == [["Cloud Intelligence"]])
        #expect(try rows("SELECT description FROM indicators WHERE threat_id = ?") == [["replaced"]])
        #expect(try rows("SELECT name FROM indicator_tactics WHERE threat_id = ?") == [["Persistence"]])
        #expect(try rows("SELECT name FROM indicator_techniques WHERE threat_id = ?") == [["T9999"]])
        #expect(try rows("SELECT family, address FROM detection_addresses WHERE threat_id = ?") == [[4, "192.0.2.7"]])
        #expect(try rows("SELECT incident_status FROM threats WHERE threat_id = ?") == [["resolved"]])
        #expect(try rows("SELECT body FROM raw_analyses WHERE threat_id = ?") == [[.text(newerBody)]])
        // Importing the older version again keeps the newer one.
        let stale = try await importFiles([try scratch.file("old2.ndjson", set.body(index))], into: db)
        #expect(stale.outcomes[.stale] == 1)
        #expect(try rows("SELECT action FROM mitigations WHERE threat_id = ?") == [["only"]])
        #expect(try rows("SELECT name FROM indicator_techniques WHERE threat_id = ?") == [["T9999"]])
        #expect(try count(database, "threats") == 1)
    }

    @Test func malformedInputsAreReportedAndTheRestImports() async throws {
        let scratch = try TemporaryDirectory()
        let set = SyntheticAnalyses(count: 6)
        let good = (0..<6).map { set.body($0) }
        var files: [String] = []
        // Truncated last line, a line with a missing threatId, a wrong top-level type.
        files.append(try scratch.file("truncated.ndjson", good[0] + "\n" + String(good[1].prefix(300))))
        files.append(try scratch.file("empty.json", ""))
        files.append(try scratch.file("bom-crlf.ndjson", "\u{FEFF}" + good[2] + "\r\n" + good[3] + "\r\n"))
        files.append(try scratch.file("wrong.json", "[1, \"two\", null]"))
        files.append(try scratch.file("noid.ndjson", #"{"data": {"threatInfo": {"threatName": "x"}}}"# + "\n" + good[4]))
        // A 10 MB string inside an otherwise valid analysis imports whole.
        let huge = String(repeating: "A", count: 10 << 20)
        files.append(try scratch.file("huge.ndjson", good[5].replacingOccurrences(of: #""maliciousProcessArguments":"sample5.exe --quiet""#,
                                                                                     with: #""maliciousProcessArguments":"\#(huge)""#)))
        files.append(scratch.path("missing.json"))

        let db = scratch.path("m.sqlite")
        let summary = try await importFiles(files, into: db)
        #expect(summary.stored == 5)  // good[1] is the truncated one
        let reasons = summary.problems.map(\.description)
        #expect(summary.problemCount == 7, "\(reasons)")
        #expect(reasons.contains { $0.contains("truncated.ndjson:2") && $0.contains("not valid JSON") })
        #expect(reasons.contains { $0.contains("empty.json:1") && $0.contains("empty input") })
        #expect(reasons.filter { $0.contains("wrong.json[") }.count == 3)
        #expect(reasons.contains { $0.contains("noid.ndjson:1") && $0.contains("threatId") })
        #expect(reasons.contains { $0.contains("missing.json") && $0.contains("No such file") })
        // The summary groups them under readable labels.
        let categories = Dictionary(uniqueKeysWithValues: summary.problemsByCategory.map { ($0.category, $0.count) })
        #expect(categories["expected a JSON object"] == 3, "\(categories)")
        #expect(categories["not valid JSON"] == 1, "\(categories)")
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT length(malicious_process_arguments) FROM threats WHERE threat_id = ?", [.text(set.threatId(5))]) == .integer(10 << 20))
    }

    @Test func badDocumentsNeverTouchWhatIsStored() async throws {
        let scratch = try TemporaryDirectory()
        let set = SyntheticAnalyses(count: 3)
        let db = scratch.path("k.sqlite")
        _ = try await importFiles([try scratch.file("a.ndjson", (0..<3).map { set.body($0) }.joined(separator: "\n"))], into: db)
        let before = try StoreOpener.openForReading(path: db).query("SELECT threat_id, last_ingested_at, body FROM threats JOIN raw_analyses USING (threat_id) ORDER BY 1")
        let broken = String(set.body(1).dropLast(20))
        let summary = try await importFiles([try scratch.file("b.ndjson", broken)], into: db)
        #expect(summary.problemCount == 1)
        let after = try StoreOpener.openForReading(path: db).query("SELECT threat_id, last_ingested_at, body FROM threats JOIN raw_analyses USING (threat_id) ORDER BY 1")
        #expect(after == before)
    }

    @Test func sample2025WithNewerKeysImports() async throws {
        // (Standard input, "-", is exercised through a pipe by the CLI tests.)
        let scratch = try TemporaryDirectory()
        let summary = try await importFiles([Fixture.path(Fixture.sample2025)], into: scratch.path("s.sqlite"))
        #expect(summary.stored == 1)
        #expect(summary.rowCounts.first { $0.table == "mitigations" }?.rows == 2)
    }
}
