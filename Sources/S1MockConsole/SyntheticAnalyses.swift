/// Deterministic, varied threat analyses shaped like real console output (the 2022 capture
/// and the 2025 sample): many agents, 1–9 network interfaces each, 1–4 mitigations, 1–2
/// detection engines, some indicators with MITRE tactics and techniques.
///
/// Analysis `n` is a pure function of `(seed, n)` (and `referenceTime` when set), so a server
/// can answer any ID without keeping documents, and a test can predict what was stored.
///
/// Two timelines: without `referenceTime`, the fixed one the tests' figures assume (every
/// threat from 2023-11-14 on, 37 s apart, none resolved); with it, a live console's (the 30
/// days before that time, about half of the threats older than a week resolved and a
/// quarter of the newer ones), which the demo and `s1ingest mock-console` use so that
/// `sync`'s default window and `report --since 7d` find threats.
public struct SyntheticAnalyses: Sendable {
    public let seed: UInt64
    /// How many analyses the set holds (IDs `threatId(0) ..< threatId(count)`).
    public let count: Int
    /// How many distinct agents they are spread over.
    public let agentCount: Int
    /// The "now" of a live-console timeline (seconds since 1970), or nil for the fixed 2023 one.
    public let referenceTime: Int?
    /// Where its IDs start: threat and agent IDs are those of indices `idBase ..< idBase + count`,
    /// so sets with bases far enough apart (two mock consoles) share no threat or agent ID.
    public let idBase: Int

    /// How far back a live-console timeline reaches.
    public static let liveWindowSeconds = 30 * 86_400

    public static let firstThreatId: UInt64 = 1_311_010_474_425_970_168
    public static let firstAgentId: UInt64 = 1_286_438_987_267_469_377

    /// The parts of a body that depend only on the agent, made once per agent: building
    /// them was most of the mock console's CPU time in `scripts/bench-ingest.sh`.
    private let agentParts = AgentPartsCache()

    /// `referenceTime` (seconds since 1970, e.g. the current time) gives the live-console
    /// timeline ending then; the same seed and reference time give the same analyses.
    public init(count: Int, seed: UInt64 = 1, agentCount: Int? = nil, referenceTime: Int? = nil, idBase: Int = 0) {
        self.count = count
        self.idBase = max(0, idBase)
        self.seed = seed
        self.agentCount = max(1, agentCount ?? max(1, count / 10))
        self.referenceTime = referenceTime
    }

    /// `threatInfo.createdAt` of analysis `index`, in seconds since 1970. In the live timeline
    /// the threats are spread evenly (with jitter) over the window, in index order, and the
    /// newest is at least 15 minutes old.
    public func createdSeconds(_ index: Int) -> Int {
        guard let referenceTime else { return 1_700_000_000 + index * 37 - 600 }
        let window = Self.liveWindowSeconds - 3600
        let slot = max(1, window / max(1, count))
        let start = referenceTime - Self.liveWindowSeconds
        return start + index * slot + Int(mix(UInt64(index), 31) % UInt64(slot))
    }

    /// Whether analysis `index` is resolved when first served (revision 0). Never in the fixed
    /// timeline; in the live one, half of the threats older than 7 days and a quarter of the rest.
    public func isResolved(_ index: Int) -> Bool {
        guard let referenceTime else { return false }
        let age = referenceTime - createdSeconds(index)
        return Int(mix(UInt64(index), 30) % 100) < (age > 7 * 86_400 ? 50 : 25)
    }

    /// Seconds from creation to the last update at revision 0 (10 minutes, more for resolved ones).
    func updateDelay(_ index: Int) -> Int {
        guard referenceTime != nil, isResolved(index) else { return 600 }
        return 600 + Int(mix(UInt64(index), 32) % 600)
    }

    /// The threat ID of analysis `index` (19 digits, as real ones).
    public func threatId(_ index: Int) -> String { String(Self.firstThreatId + UInt64(idBase + index) * 7919) }

    /// The index of a threat ID of this set, or nil when it is not one of them.
    public func index(of threatId: String) -> Int? {
        guard let id = UInt64(threatId), id >= Self.firstThreatId + UInt64(idBase) * 7919 else { return nil }
        let offset = id - Self.firstThreatId - UInt64(idBase) * 7919
        guard offset % 7919 == 0, offset / 7919 < UInt64(count) else { return nil }
        return Int(offset / 7919)
    }

    /// The agent (0 ..< agentCount) that analysis `index` was detected on.
    public func agentIndex(_ index: Int) -> Int { Int(mix(UInt64(index), 1) % UInt64(agentCount)) }

    public func agentId(_ agentIndex: Int) -> String { String(Self.firstAgentId + UInt64(idBase + agentIndex) * 104_729) }

    /// How many network interfaces agent `agentIndex` has (1–9).
    public func interfaceCount(_ agentIndex: Int) -> Int { 1 + Int(mix(UInt64(agentIndex), 2) % 9) }

    /// How many mitigations analysis `index` has (1–4).
    public func mitigationCount(_ index: Int) -> Int { 1 + Int(mix(UInt64(index), 3) % 4) }

    /// How many indicators analysis `index` has (0–3).
    public func indicatorCount(_ index: Int) -> Int { Int(mix(UInt64(index), 4) % 4) }

    /// `threatInfo.updatedAt` of analysis `index` at `revision` (a later revision is newer).
    public func updatedAt(_ index: Int, revision: Int = 0) -> String {
        timestamp(createdSeconds(index) + updateDelay(index) + revision * 3600, micros: index % 1_000_000)
    }

    /// The response body `{"data": {...}}` of analysis `index`, as the console sends it.
    /// `revision` changes what a re-fetch would see (status, counters, updatedAt);
    /// `updatedAt` overrides `threatInfo.updatedAt` (a console that tracks changes sets it).
    public func body(_ index: Int, revision: Int = 0, updatedAt: String? = nil) -> String {
        let agent = agentIndex(index)
        let agentId = agentId(agent)
        let threatId = threatId(index)
        let r = mix(UInt64(index), 5)
        let site = agent % 7
        let group = agent % 13
        let classification = Self.classifications[Int(r % UInt64(Self.classifications.count))]
        let os = Self.operatingSystems[agent % Self.operatingSystems.count]
        let created = timestamp(createdSeconds(index), micros: (index * 7) % 1_000_000)
        let parts = agentParts.parts(agent) { makeAgentParts(agent) }
        let resolved = revision > 0 || isResolved(index)
        let status = resolved ? "resolved" : (r % 3 == 0 ? "in_progress" : "unresolved")
        let mitigations = (0..<mitigationCount(index)).map { mitigation(index: index, number: $0, revision: revision) }
        let engines = (0...(Int(r >> 8) % 2)).map { Self.engines[(Int(r >> 12) + $0) % Self.engines.count] }
        let indicators = (0..<indicatorCount(index)).map { indicator(index: index, number: $0) }
        let hash = hex(mix(UInt64(index), 6)) + hex(mix(UInt64(index), 7)) + String(hex(mix(UInt64(index), 8)).prefix(8))
        return """
            {"data":{"agentDetectionInfo":{"accountId":"1286405255240245908","accountName":"acme","agentDetectionState":null,\
            "agentDomain":"\(Self.domains[site % Self.domains.count])","agentIpV4":"\(parts.ipv4)",\
            "agentIpV6":"\(parts.ipv6)","agentLastLoggedInUpn":null,"agentLastLoggedInUserMail":null,\
            "agentLastLoggedInUserName":"user\(agent)","agentMitigationMode":"protect","agentOsName":"\(os.name)",\
            "agentOsRevision":"\(os.revision)","agentRegisteredAt":"2023-01-10T22:44:37.714973Z",\
            "agentUuid":"\(parts.uuid)","agentVersion":"23.\(agent % 4).1.\(agent % 9)","cloudProviders":{},\
            "externalIp":"203.0.113.\(agent % 250)","groupId":"\(1_286_405_255_265_411_734 + UInt64(group))",\
            "groupName":"Group \(group)","siteId":"\(1_286_405_255_257_023_125 + UInt64(site))","siteName":"Site \(site)"},\
            "agentRealtimeInfo":{"accountId":"1286405255240245908","accountName":"acme","activeThreats":\(r % 5),\
            "agentComputerName":"host-\(agent)","agentDecommissionedAt":null,"agentDomain":"\(Self.domains[site % Self.domains.count])",\
            "agentId":"\(agentId)","agentInfected":\(r % 2 == 0),"agentIsActive":true,"agentIsDecommissioned":false,\
            "agentMachineType":"\(agent % 3 == 0 ? "server" : "laptop")","agentMitigationMode":"protect",\
            "agentNetworkStatus":"connected","agentOsName":"\(os.name)","agentOsRevision":"\(os.revision)",\
            "agentOsType":"\(os.type)","agentUuid":"\(parts.uuid)","agentVersion":"23.\(agent % 4).1.\(agent % 9)",\
            "groupId":"\(1_286_405_255_265_411_734 + UInt64(group))","groupName":"Group \(group)",\
            "networkInterfaces":[\(parts.interfaces)],"operationalState":"na","rebootRequired":false,\
            "scanAbortedAt":null,"scanFinishedAt":"2024-09-07T02:40:59.261750Z","scanStartedAt":"2024-11-14T20:11:25.369554Z",\
            "scanStatus":"finished","siteId":"\(1_286_405_255_257_023_125 + UInt64(site))","siteName":"Site \(site)",\
            "storageName":null,"storageType":null,"userActionsNeeded":[]},\
            "containerInfo":{"id":null,"image":null,"isContainerQuarantine":null,"labels":null,"name":null},\
            "customDetectionRules":[],"indicators":[\(indicators.joined(separator: ","))],\
            "kubernetesInfo":{"cluster":null,"controllerKind":null,"controllerLabels":null,"controllerName":null,\
            "isContainerQuarantine":null,"namespace":null,"namespaceLabels":null,"node":null,"pod":null,"podLabels":null},\
            "mitigationStatus":[\(mitigations.joined(separator: ","))],\
            "threatInfo":{"analystVerdict":"\(resolved ? "true_positive" : "undefined")","analystVerdictDescription":"\(resolved ? "True positive" : "Undefined")",\
            "automaticallyResolved":false,"browserType":null,"certificateId":null,"classification":"\(classification)",\
            "classificationSource":"Static","cloudFilesHashVerdict":"black","collectionId":"\(433_377_870_883_088_367 + UInt64(index))",\
            "confidenceLevel":"\(r % 4 == 0 ? "suspicious" : "malicious")","createdAt":"\(created)",\
            "detectionEngines":[\(engines.map { "{\"key\":\"\($0.key)\",\"title\":\"\($0.title)\"}" }.joined(separator: ","))],\
            "detectionType":"static","engines":[\(engines.map { "\"\($0.title)\"" }.joined(separator: ","))],\
            "externalTicketExists":false,"externalTicketId":null,"failedActions":\(r % 11 == 0),"fileExtension":"EXE",\
            "fileExtensionType":"Executable","filePath":"\(os.path)\(os.type == "windows" ? "\\\\" : "/")sample\(index).exe","fileSize":\(1024 + r % 5_000_000),\
            "fileVerificationType":"NotSigned","identifiedAt":"\(created)","incidentStatus":"\(status)",\
            "incidentStatusDescription":"\(status.capitalized)","initiatedBy":"agent_policy","initiatedByDescription":"Agent Policy",\
            "initiatingUserId":null,"initiatingUsername":null,"isFileless":false,"isValidCertificate":false,\
            "maliciousProcessArguments":"sample\(index).exe --quiet","md5":null,"mitigatedPreemptively":false,\
            "mitigationStatus":"mitigated","mitigationStatusDescription":"Mitigated","originatorProcess":"explorer.exe",\
            "pendingActions":false,"processUser":"ACME\\\\user\(agent)","publisherName":"","reachedEventsLimit":false,\
            "rebootRequired":false,"sha1":"\(hash)","sha256":null,"storyline":"\(uuid(index + 1_000_000))",\
            "threatId":"\(threatId)","threatName":"sample\(index).exe","updatedAt":"\(updatedAt ?? self.updatedAt(index, revision: revision))"},\
            "whiteningOptions":["hash","path"\(r % 2 == 0 ? ",\"certificate\"" : "")]}}
            """
    }

    /// The agent-only parts of a body.
    struct AgentParts: Sendable {
        /// `networkInterfaces` elements, comma-separated.
        let interfaces: String
        /// `agentIpV4` and `agentIpV6` as the console sends them (comma lists).
        let ipv4: String
        let ipv6: String
        let uuid: String
    }

    func makeAgentParts(_ agent: Int) -> AgentParts {
        let numbers = 0..<interfaceCount(agent)
        return AgentParts(
            interfaces: numbers.map { interface(agent: agent, number: $0) }.joined(separator: ","),
            ipv4: numbers.map { "10.\(agent / 250 % 250).\(agent % 250).\($0 + 1)" }.joined(separator: ","),
            ipv6: numbers.map { "fe80::\(String(agent, radix: 16)):\($0 + 1)" }.joined(separator: ","),
            uuid: uuid(agent))
    }

    func interface(agent: Int, number: Int) -> String {
        let id = UInt64(1_543_172_592_000_726_460) + UInt64(agent) * 16 + UInt64(number)
        let mac = (0..<6).map { byte -> String in
            let value = Int(mix(UInt64(agent * 16 + number), UInt64(10 + byte)) % 256)
            let text = String(value, radix: 16, uppercase: true)
            return text.count == 1 ? "0" + text : text
        }.joined(separator: ":")
        let inet = number % 3 == 2 ? "" : "\"10.\(agent / 250 % 250).\(agent % 250).\(number + 1)\""
        return """
            {"id":"\(id)","inet":[\(inet)],"inet6":["fe80::\(String(agent, radix: 16)):\(number + 1)"],\
            "name":"\(number == 0 ? "eth0" : "veth\(number)")","physical":"\(mac)"}
            """
    }

    func mitigation(index: Int, number: Int, revision: Int) -> String {
        let actions = ["quarantine", "kill", "remediate", "rollback"]
        let r = mix(UInt64(index * 8 + number), 9)
        let failed = r % 10 == 0 ? 1 : 0
        let total = 1 + Int(r % 3)
        let counters = number == 3 ? "null" : """
            {"failed":\(failed),"notFound":0,"pendingReboot":\(revision),"success":\(total - failed),"total":\(total)}
            """
        let when = timestamp(createdSeconds(index) + 600 + number, micros: 484_537)
        return """
            {"action":"\(actions[number % actions.count])","actionsCounters":\(counters),"agentSupportsReport":true,\
            "groupNotFound":false,"lastUpdate":"\(when)","latestReport":\(number == 3 ? "null" : "\"/threats/mitigation-report/\(1_311_010_476_397_293_060 + UInt64(index))\""),\
            "mitigationEndedAt":"\(when)","mitigationStartedAt":"\(when)","status":"\(failed == 1 ? "failed" : "success")"}
            """
    }

    func indicator(index: Int, number: Int) -> String {
        let r = mix(UInt64(index * 4 + number), 11)
        let tactic = Self.tactics[Int(r % UInt64(Self.tactics.count))]
        let techniques = (0...(Int(r >> 4) % 2)).map { offset -> String in
            let technique = tactic.techniques[(Int(r >> 8) + offset) % tactic.techniques.count]
            return "{\"link\":\"https://attack.mitre.org/techniques/\(technique)/\",\"name\":\"\(technique)\"}"
        }
        return """
            {"category":"\(tactic.category)","description":"\(tactic.description)","ids":[\(40 + r % 400)],\
            "tactics":[{"name":"\(tactic.name)","source":"MITRE","techniques":[\(techniques.joined(separator: ","))]}]}
            """
    }

    // MARK: Vocabulary

    static let classifications = ["Malware", "Ransomware", "Trojan", "PUA", "Exploit", "Infostealer", "Hacktool", "Generic.Heuristic"]
    static let domains = ["ACME", "WORKGROUP", "corp.example", "lab.example"]
    static let operatingSystems: [(name: String, revision: String, type: String, path: String)] = [
        ("Windows 10 Enterprise", "19045", "windows", "C:\\\\Users\\\\Public"),
        ("Windows Server 2019", "17763", "windows", "C:\\\\ProgramData"),
        ("Linux", "CentOS release 7.8.2003 (Core) 3.10.0-1127.el7.x86_64", "linux", "/tmp"),
        ("macOS", "14.2.1", "macos", "/Users/Shared"),
    ]
    static let engines: [(key: String, title: String)] = [
        ("pre_execution", "On-Write Static AI"), ("executables", "Behavioral AI"), ("sentinelone_cloud", "SentinelOne Cloud"),
        ("user_blacklist", "User-Defined Blocklist"), ("reputation", "Reputation"),
    ]
    static let tactics: [(name: String, category: String, description: String, techniques: [String])] = [
        ("Execution", "Exploitation", "Document behaves abnormally", ["T1059", "T1204", "T1203"]),
        ("Defense Evasion", "Evasion", "Indirect command was executed", ["T1202", "T1027", "T1112"]),
        ("Persistence", "Persistence", "Suspicious registry key was created", ["T1547", "T1053"]),
        ("Initial Access", "Exploitation", "Office program ran macro", ["T1566"]),
        ("Discovery", "Discovery", "Process enumerated network shares", ["T1135", "T1082"]),
    ]

    // MARK: Helpers

    /// SplitMix64 of `value` and a stream number, so each property varies independently.
    func mix(_ value: UInt64, _ stream: UInt64) -> UInt64 {
        var z = value &+ seed &* 0x9E37_79B9_7F4A_7C15 &+ stream &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    func uuid(_ value: Int) -> String {
        let a = hex(mix(UInt64(value), 20)), b = hex(mix(UInt64(value), 21))
        let chars = Array(a + b)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-\(String(chars[12..<16]))-\(String(chars[16..<20]))-\(String(chars[20..<32]))"
    }

    func timestamp(_ seconds: Int, micros: Int) -> String {
        formatTimestamp(secondsSince1970: Double(seconds) + Double(micros) / 1e6 + 5e-8)
    }
}

/// Agent parts by agent index, shared by every copy of a `SyntheticAnalyses` (and every
/// event-loop thread of a mock console). Emptied when it reaches `limit`, so a huge set
/// (`s1ingest generate`) keeps memory bounded.
final class AgentPartsCache: Sendable {
    private let entries = Mutex<[Int: SyntheticAnalyses.AgentParts]>([:])
    let limit = 20_000

    func parts(_ agent: Int, make: () -> SyntheticAnalyses.AgentParts) -> SyntheticAnalyses.AgentParts {
        if let cached = entries.withLock({ $0[agent] }) { return cached }
        let made = make()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[agent] = made
        }
        return made
    }
}

extension String {
    var capitalized: String { prefix(1).uppercased() + dropFirst().replacingOccurrences(of: "_", with: " ") }
}

import Foundation
import S1Common
import S1JSON
import Synchronization
