import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// Each view against expectations computed straight from the synthetic JSON bodies (parsed
/// with JSONSerialization, independently of the flattener).
@Suite struct ViewTests {
    static let set = SyntheticAnalyses(count: 80, seed: 7, agentCount: 6)

    struct Expected {
        var classification: [String: String] = [:]        // threat -> classification
        var site: [String: String] = [:]                  // threat -> detection site name
        var mitigationCount: [String: Int] = [:]
        var failedCount: [String: Int] = [:]
        var lastAction: [String: String] = [:]
        var threatsPerAgent: [String: Int] = [:]
        var unresolvedPerAgent: [String: Int] = [:]
        var lastSeenPerAgent: [String: String] = [:]
        var techniqueThreats: [String: Set<String>] = [:]  // "T1059|Execution" -> threats
        var techniqueOccurrences: [String: Int] = [:]
        var perDay: [String: Int] = [:]                    // "2023-11-14|Malware" -> threats
        var failures = 0
    }

    static func expected() throws -> Expected {
        var result = Expected()
        for index in 0..<set.count {
            let body = try #require(try JSONSerialization.jsonObject(with: Data(set.body(index).utf8)) as? [String: Any])
            let data = try #require(body["data"] as? [String: Any])
            let info = try #require(data["threatInfo"] as? [String: Any])
            let detection = try #require(data["agentDetectionInfo"] as? [String: Any])
            let agent = try #require((data["agentRealtimeInfo"] as? [String: Any])?["agentId"] as? String)
            let threat = try #require(info["threatId"] as? String)
            let classification = try #require(info["classification"] as? String)
            let created = try #require(info["createdAt"] as? String)
            result.classification[threat] = classification
            result.site[threat] = detection["siteName"] as? String
            let mitigations = try #require(data["mitigationStatus"] as? [[String: Any]])
            result.mitigationCount[threat] = mitigations.count
            let failed = mitigations.filter { m in
                m["status"] as? String == "failed" || ((m["actionsCounters"] as? [String: Any])?["failed"] as? Int ?? 0) > 0
            }.count
            result.failedCount[threat] = failed
            result.failures += failed
            result.lastAction[threat] = mitigations.last?["action"] as? String
            result.threatsPerAgent[agent, default: 0] += 1
            if info["incidentStatus"] as? String == "unresolved" { result.unresolvedPerAgent[agent, default: 0] += 1 }
            result.lastSeenPerAgent[agent] = max(result.lastSeenPerAgent[agent] ?? "", created)
            for indicator in data["indicators"] as? [[String: Any]] ?? [] {
                for tactic in indicator["tactics"] as? [[String: Any]] ?? [] {
                    for technique in tactic["techniques"] as? [[String: Any]] ?? [] {
                        let key = "\(technique["name"] as! String)|\(tactic["name"] as! String)"
                        result.techniqueThreats[key, default: []].insert(threat)
                        result.techniqueOccurrences[key, default: 0] += 1
                    }
                }
            }
            result.perDay["\(created.prefix(10))|\(classification)", default: 0] += 1
        }
        return result
    }

    func fixture() async throws -> (path: String, expected: Expected) {
        (try await TestDatabases.synthetic(Self.set), try Self.expected())
    }

    @Test func threatOverviewHasOneRowPerThreatWithAgentSiteAndMitigationState() async throws {
        let (path, expected) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, """
            SELECT threat_id, classification, site_name, mitigation_count, mitigations_failed, last_mitigation_action,
                   agent_computer_name, group_name, is_resolved FROM threat_overview
            """)
        #expect(rows.count == 80)
        #expect(Set(rows.map { $0[0] }).count == 80)
        for row in rows {
            let threat = try #require(row[0].textValue)
            #expect(row[1].textValue == expected.classification[threat])
            #expect(row[2].textValue == expected.site[threat])
            #expect(row[3].integerValue == Int64(expected.mitigationCount[threat]!))
            #expect(row[4].integerValue == Int64(expected.failedCount[threat]!))
            #expect(row[5].textValue == expected.lastAction[threat])
            #expect(row[6].textValue?.hasPrefix("host-") == true)
            #expect(row[7].textValue?.hasPrefix("Group ") == true)
            #expect(row[8] == .integer(0))
        }
    }

    @Test func mitigationFailuresListsEveryFailedAction() async throws {
        let (path, expected) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, "SELECT threat_id, status, actions_failed FROM mitigation_failures")
        #expect(expected.failures > 0)
        #expect(rows.count == expected.failures)
        var perThreat: [String: Int] = [:]
        for row in rows { perThreat[row[0].textValue!, default: 0] += 1 }
        let expectedPerThreat = expected.failedCount.filter { $0.value > 0 }
        #expect(perThreat == expectedPerThreat)
        #expect(rows.allSatisfy { $0[1] == .text("failed") || ($0[2].integerValue ?? 0) > 0 })
    }

    @Test func agentExposureCountsThreatsUnresolvedAndLastSeen() async throws {
        let (path, expected) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, "SELECT agent_id, threat_count, unresolved_threats, open_threats, last_seen_at FROM agent_exposure")
        #expect(rows.count == 6)
        #expect(rows.map { $0[1].integerValue! }.reduce(0, +) == 80)
        for row in rows {
            let agent = row[0].textValue!
            #expect(row[1].integerValue == Int64(expected.threatsPerAgent[agent]!))
            #expect(row[2].integerValue == Int64(expected.unresolvedPerAgent[agent] ?? 0))
            #expect(row[3].integerValue == Int64(expected.threatsPerAgent[agent]!))  // nothing resolved at revision 0
            #expect(row[4].textValue == expected.lastSeenPerAgent[agent])
        }
        // Most exposed first.
        #expect(rows.map { $0[1].integerValue! } == rows.map { $0[1].integerValue! }.sorted(by: >))
    }

    @Test func mitreTechniqueFrequencyCountsThreatsAndOccurrences() async throws {
        let (path, expected) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, "SELECT technique, tactic, threat_count, occurrences FROM mitre_technique_frequency")
        #expect(!rows.isEmpty)
        #expect(rows.count == expected.techniqueThreats.count)
        for row in rows {
            let key = "\(row[0].textValue!)|\(row[1].textValue!)"
            #expect(row[2].integerValue == Int64(expected.techniqueThreats[key]?.count ?? -1), "\(key)")
            #expect(row[3].integerValue == Int64(expected.techniqueOccurrences[key] ?? -1), "\(key)")
        }
        #expect(rows.map { $0[2].integerValue! } == rows.map { $0[2].integerValue! }.sorted(by: >))
    }

    @Test func newThreatsPerDayByClassification() async throws {
        let (path, expected) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, "SELECT day, classification, threat_count FROM new_threats_per_day")
        var actual: [String: Int] = [:]
        for row in rows { actual["\(row[0].textValue!)|\(row[1].textValue!)"] = Int(row[2].integerValue!) }
        #expect(actual == expected.perDay)
        // 80 threats 37 s apart from 2023-11-14T22:03:20Z all fall on 2023-11-14.
        #expect(Set(rows.map { $0[0].textValue! }) == ["2023-11-14"])
    }

    @Test func viewsCarryTheirCommentsInTheSchema() async throws {
        let (path, _) = try await fixture()
        defer { TestDatabases.remove(path) }
        let rows = try TestDatabases.rows(path, "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY rowid")
        #expect(rows.map { $0[0].textValue! } == ["threat_overview", "mitigation_failures", "agent_exposure", "mitre_technique_frequency", "new_threats_per_day"])
        for row in rows { #expect(row[1].textValue!.contains("AS -- One row per")) }
    }
}
