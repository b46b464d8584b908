import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct AnalysisFlattenerTests {
    func flatten(_ fixture: String) throws -> FlattenedAnalysis {
        let bytes = Array(try Fixture.data(fixture))
        let analysis = try #require(try AnalysisDecoder.decode(bytes: bytes, location: DocumentLocation(source: fixture, line: 1)).first?.get())
        return AnalysisFlattener.flatten(analysis, ingestedAt: "2026-01-01T00:00:00.000000Z")
    }

    @Test func capture2022Values() throws {
        let flat = try flatten(Fixture.capture2022)
        let threat = try #require(flat.rows(of: .threats).first)
        #expect(threat["threat_id"] == "1311010474425970168")
        #expect(threat["agent_id"] == "1286438987267469377")
        #expect(threat["sha1"] == "3395856ce81f2b7382dee72602f798b642f14140")
        #expect(threat["sha256"] == .null)
        #expect(threat["file_size"] == .integer(68))
        #expect(threat["is_fileless"] == .integer(0))
        #expect(threat["is_valid_certificate"] == .null)
        #expect(threat["created_at"] == "2021-12-14T20:23:47.249133Z")
        #expect(threat["mitigation_status"] == "mitigated")
        #expect(threat["detection_agent_ip_v4"] == "10.32.0.165,172.18.0.1,172.17.0.1")
        #expect(threat["detection_site_name"] == "Default site")
        #expect(threat["detection_cloud_providers"] == "{}")
        #expect(threat["container_id"] == .null)

        let interfaces = flat.rows(of: .interfaces)
        #expect(interfaces.count == 7)
        #expect(interfaces.first(where: { $0["name"] == "eth0" })?["mac"] == "00:50:56:BD:78:A0")
        let addresses = flat.rows(of: .interfaceAddresses)
        #expect(addresses.filter { $0["family"] == .integer(4) }.count == 3)
        #expect(addresses.filter { $0["family"] == .integer(6) }.count == 6)

        let detection = flat.rows(of: .detectionAddresses)
        #expect(detection.filter { $0["family"] == .integer(4) }.compactMap { $0["address"]?.textValue }
                == ["10.32.0.165", "172.18.0.1", "172.17.0.1"])
        #expect(detection.filter { $0["family"] == .integer(6) }.count == 6)

        let mitigation = try #require(flat.rows(of: .mitigations).first)
        #expect(flat.rows(of: .mitigations).count == 1)
        #expect(mitigation["action"] == "quarantine")
        #expect(mitigation["status"] == "success")
        #expect(mitigation["actions_success"] == .integer(1))
        #expect(mitigation["actions_total"] == .integer(1))
        #expect(mitigation["actions_failed"] == .integer(0))
        #expect(mitigation["latest_report"] == "/threats/mitigation-report/1311010476397293060")

        #expect(flat.rows(of: .detectionEngines).map { [$0["engine_key"], $0["title"]] } == [["pre_execution", "On-Write Static AI"]])
        #expect(flat.rows(of: .engines).map { $0["engine"] } == ["On-Write DFI"])
        #expect(flat.rows(of: .whiteningOptions).compactMap { $0["option"]?.textValue } == ["path", "hash"])
        #expect(flat.rows(of: .indicators).isEmpty)

        let agent = try #require(flat.rows(of: .agents).first)
        #expect(agent["agent_computer_name"] == "localhost.localdomain")
        #expect(agent["agent_is_active"] == .integer(1))
        #expect(agent["active_threats"] == .integer(0))
        #expect(agent["user_actions_needed"] == "[]")
    }

    @Test func sample2025LenientParts() throws {
        let flat = try flatten(Fixture.sample2025)
        // inet: [""] and inet6: [""] yield no address; physical "" is NULL.
        #expect(flat.rows(of: .interfaces).count == 1)
        #expect(flat.rows(of: .interfaces).first?["mac"] == .null)
        #expect(flat.rows(of: .interfaceAddresses).isEmpty)
        // agentIpV4 "" yields no rows.
        #expect(flat.rows(of: .detectionAddresses).isEmpty)
        // actionsCounters: null gives NULL counters; newer keys land in their columns.
        let kill = try #require(flat.rows(of: .mitigations).first { $0["action"] == "kill" })
        #expect(kill["actions_total"] == .null)
        #expect(kill["latest_report"] == .null)
        #expect(kill["report_id"] == "12345")
        let threat = try #require(flat.rows(of: .threats).first)
        #expect(threat["detection_asset_version"] == "0")
        #expect(threat["ecs_cluster_name"] == .null)
        #expect(threat["file_path"] == "\\PATH\\TO\\Users\\djones\\Desktop\\djones7.txt")
        #expect(threat["certificate_id"] == "")
    }

    @Test func indicatorsBecomeTacticAndTechniqueRows() throws {
        let flat = try flatten(Fixture.listItemWithIndicators)
        #expect(flat.rows(of: .indicators).count == 6)
        let ids = flat.rows(of: .indicators).first?["ids"]?.textValue?.filter { !$0.isWhitespace }
        #expect(ids == "[43]")
        #expect(flat.rows(of: .indicatorTactics).count == 8)
        let techniques = flat.rows(of: .indicatorTechniques)
        #expect(techniques.count == 11)
        #expect(techniques.filter { $0["tactic"] == "Defense Evasion" }.count == 4)
        #expect(flat.rows(of: .detectionEngines).count == 2)
    }

    /// Lists as a loose console might send them: spaces, empty entries, nulls and
    /// non-objects among the elements, an escaped string.
    @Test func looseListsBecomeCleanRows() throws {
        let body = #"""
        {"data": {"threatInfo": {"threatId": "42", "engines": [null, "DBT", " "], "detectionEngines": [null, {"key": "sentinelone_cloud", "title": "Cloud"}, "legacy"],
          "createdAt": "2021-12-14 20:23:47.5+00:00"},
         "agentDetectionInfo": {"agentIpV4": " 10.0.0.1 ,, 172.17.0.1,\t,", "agentIpV6": ","},
         "agentRealtimeInfo": {"agentId": "7", "networkInterfaces": [3, {"id": "if1", "inet": ["", " 10.0.0.2 ", null, 5], "inet6": ["fe80::1"]}, {"inet": ["10.0.0.3"]}]},
         "mitigationStatus": ["x", {"action": "kill"}, null, {"action": "quarantine"}],
         "whiteningOptions": ["hash", "", "  ", "path\u00e9"]}}
        """#
        let analysis = try #require(try AnalysisDecoder.decode(bytes: Array(body.utf8), location: DocumentLocation(source: "t", line: 1)).first?.get())
        let flat = AnalysisFlattener.flatten(analysis, ingestedAt: "2026-01-01T00:00:00.000000Z")
        let detection = flat.rows(of: .detectionAddresses)
        #expect(detection.map { $0["address"] } == ["10.0.0.1", "172.17.0.1"])
        #expect(detection.map { $0["position"] } == [.integer(0), .integer(1)])
        #expect(flat.rows(of: .engines).map { $0["engine"] } == ["DBT", " "])
        #expect(flat.rows(of: .engines).map { $0["position"] } == [.integer(1), .integer(2)])
        #expect(flat.rows(of: .detectionEngines).map { $0["position"] } == [.integer(1), .integer(2)])
        #expect(flat.rows(of: .detectionEngines).map { $0["engine_key"] } == ["sentinelone_cloud", .null])
        #expect(flat.rows(of: .interfaces).map { $0["interface_id"] } == ["if1", "position-1"])
        #expect(flat.rows(of: .interfaceAddresses).map { $0["address"] } == ["10.0.0.2", "fe80::1", "10.0.0.3"])
        #expect(flat.rows(of: .mitigations).map { $0["action"] } == ["kill", "quarantine"])
        #expect(flat.rows(of: .mitigations).map { $0["position"] } == [.integer(0), .integer(1)])
        #expect(flat.rows(of: .whiteningOptions).map { $0["option"] } == ["hash", "path\u{e9}"])
        #expect(flat.rows(of: .threats).first?["created_at"] == "2021-12-14T20:23:47.500000Z")
    }

    @Test func everyRowHasOneValuePerColumn() throws {
        for fixture in Fixture.all where fixture != Fixture.swimlaneOutput {
            let flat = try flatten(fixture)
            for row in flat.rows { #expect(flat.values(of: row).count == row.table.columns.count) }
        }
    }

    @Test func timestampsAreNormalised() {
        func normalized(_ text: String) -> String? {
            Array(text.utf8).withUnsafeBytes { normalizeTimestamp($0).map { String(decoding: $0, as: UTF8.self) } }
        }
        #expect(normalized("2021-12-14T20:23:47.249133Z") == "2021-12-14T20:23:47.249133Z")
        #expect(normalized("2021-12-14T20:23:47.249Z") == "2021-12-14T20:23:47.249000Z")
        #expect(normalized("2021-12-14T20:23:47Z") == "2021-12-14T20:23:47.000000Z")
        #expect(normalized("2021-12-14T20:23:47.1234567Z") == "2021-12-14T20:23:47.123456Z")
        #expect(normalized("2021-12-14T20:23:47+00:00") == "2021-12-14T20:23:47.000000Z")
        // Other offsets become the same instant in UTC, across day, month and year ends.
        #expect(normalized("2021-12-14T20:23:47+02:00") == "2021-12-14T18:23:47.000000Z")
        #expect(normalized("2021-12-14T20:23:47.5-0530") == "2021-12-15T01:53:47.500000Z")
        #expect(normalized("2021-12-31T23:30:00-01:00") == "2022-01-01T00:30:00.000000Z")
        #expect(normalized("2024-03-01T00:15:00+01:00") == "2024-02-29T23:15:00.000000Z")
        #expect(normalized("2021-12-14T20:23:47-00:00") == "2021-12-14T20:23:47.000000Z")
        #expect(normalized("0000-01-01T00:30:00+01:00") == nil, "before year 0 in UTC")
        #expect(normalized("9999-12-31T23:30:00-01:00") == nil, "after year 9999 in UTC")
        for bad in ["2021-12-14T20:23:47+2:00", "2021-12-14T20:23:47+24:00", "2021-12-14T20:23:47+02-00", "2021-12-14T20:23:47*02:00"] {
            #expect(normalized(bad) == nil, "\(bad)")
        }
        #expect(normalized("yesterday") == nil)
        #expect(normalized("2021-12-14T20:23:47.Z") == nil)
        #expect(normalized("2021-12-14T20:23:47.25") == nil)
        #expect(normalized("2021-12-14T20:23:47.25ZZ") == nil)
        #expect(normalized("2021-12-14T20:23:4xZ") == nil)
        #expect(normalized("2021-12-14t20:23:47.25z") == "2021-12-14T20:23:47.250000Z")
        #expect(formatTimestamp(secondsSince1970: 1_639_513_427.249133) == "2021-12-14T20:23:47.249133Z")
        #expect(formatTimestamp(secondsSince1970: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(formatTimestamp(secondsSince1970: -0.5) == "1969-12-31T23:59:59.500000Z")
        #expect(formatTimestamp(secondsSince1970: 253_402_300_799.25) == "9999-12-31T23:59:59.250000Z")
        #expect(formatTimestamp(secondsSince1970: -62_167_219_200) == "0000-01-01T00:00:00.000000Z")
        // Outside years 0...9999: the nearest representable instant, never a wrapped one.
        #expect(formatTimestamp(secondsSince1970: 253_402_300_800) == "9999-12-31T23:59:59.999999Z")
        #expect(formatTimestamp(secondsSince1970: 1e18) == "9999-12-31T23:59:59.999999Z")
        #expect(formatTimestamp(secondsSince1970: -62_167_219_201) == "0000-01-01T00:00:00.000000Z")
        #expect(formatTimestamp(secondsSince1970: -.infinity) == "0000-01-01T00:00:00.000000Z")
    }

    @Test func snakeCaseOfKeys() {
        #expect(snakeCase("agentIpV4") == "agent_ip_v4")
        #expect(snakeCase("isValidCertificate") == "is_valid_certificate")
        #expect(snakeCase("sha256") == "sha256")
        #expect(snakeCase("agentLastLoggedInUpn") == "agent_last_logged_in_upn")
    }
}
