import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct PruneTests {
    static let tables = Table.threatChildren.map(\.name) + ["raw_analyses", "ingest_queue", "threats"]

    /// 60 threats synced, those at `indices` (by default 25 of them) made "last ingested" in
    /// 2020 (and their raw bodies too).
    func prepared(_ indices: [Int] = (0..<25).map { $0 * 2 }) async throws -> (IngestBench, old: [String]) {
        let bench = try await IngestBench.start(count: 60)
        let summary = try await bench.sync(try bench.syncOptions())
        #expect(summary.status == .ok)
        let old = indices.map(bench.set.threatId)
        let database = try StoreOpener.openForWriting(path: bench.db)
        let list = old.map { "'\($0)'" }.joined(separator: ",")
        try database.execute("UPDATE threats SET last_ingested_at = '2020-01-01T00:00:00.000000Z' WHERE threat_id IN (\(list))")
        try database.execute("UPDATE raw_analyses SET ingested_at = '2020-01-01T00:00:00.000000Z' WHERE threat_id IN (\(list))")
        return (bench, old)
    }

    func counts(_ database: Database, only ids: [String]? = nil) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for table in Self.tables {
            let condition = ids.map { "threat_id IN (\($0.map { "'\($0)'" }.joined(separator: ",")))" } ?? "1"
            result[table] = try count(database, table, where: condition)
        }
        return result
    }

    @Test func pruneDeletesOldThreatsWithEveryChildRowInOneGo() async throws {
        let (bench, old) = try await prepared()
        defer { Task { await bench.stop() } }
        let database = try StoreOpener.openForWriting(path: bench.db)
        let before = try counts(database)
        let oldRows = try counts(database, only: old)
        let agentsBefore = try count(database, "agents")
        #expect(oldRows["mitigations"]! > 0 && oldRows["threats"] == 25 && oldRows["ingest_queue"] == 25)

        let dry = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, dryRun: true)
        #expect(try counts(database) == before)
        let report = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false)
        #expect(dry.deleted.map(\.rows) == report.deleted.map(\.rows))
        for table in Self.tables {
            #expect(report.rows(table) == Int(oldRows[table]!), "\(table)")
        }
        let after = try counts(database)
        for table in Self.tables { #expect(after[table]! == before[table]! - oldRows[table]!, "\(table)") }
        #expect(try counts(database, only: old).values.allSatisfy { $0 == 0 })
        #expect(try count(database, "agents") == agentsBefore - Int64(report.rows("agents")))
        #expect(try count(database, "agents", where: "agent_id NOT IN (SELECT agent_id FROM threats WHERE agent_id IS NOT NULL)") == 0)
        #expect(try database.query("PRAGMA integrity_check") == [["ok"]])
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
        // Nothing older is left: a second prune removes nothing.
        #expect(try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false).total == 0)
    }

    @Test func pruneRemovesAgentsLeftWithoutThreatsWithTheirInterfacesAndAddresses() async throws {
        // Every threat of two agents is old, and one threat of a third agent that has more.
        let set = SyntheticAnalyses(count: 60, seed: 11)
        let byAgent = Dictionary(grouping: 0..<60, by: set.agentIndex)
        let agents = byAgent.keys.sorted()
        let gone = Array(agents.prefix(2))
        let kept = try #require(agents.dropFirst(2).first { byAgent[$0]!.count >= 2 })
        let (bench, old) = try await prepared(gone.flatMap { byAgent[$0]! } + [byAgent[kept]![0]])
        defer { Task { await bench.stop() } }
        let database = try StoreOpener.openForWriting(path: bench.db)
        func agentId(_ agent: Int) throws -> String {
            try #require(database.scalar("SELECT agent_id FROM threats WHERE threat_id = ?",
                                         [.text(bench.set.threatId(byAgent[agent]![0]))]).textValue)
        }
        let goneIds = try gone.map(agentId)
        let keptId = try agentId(kept)
        let goneList = goneIds.map { "'\($0)'" }.joined(separator: ",")
        func rows(_ table: String, _ condition: String) throws -> Int64 { try count(database, table, where: condition) }
        let goneInterfaces = try rows("interfaces", "agent_id IN (\(goneList))")
        let goneAddresses = try rows("interface_addresses", "agent_id IN (\(goneList))")
        let keptInterfaces = try rows("interfaces", "agent_id = '\(keptId)'")
        let firstGoneInterfaces = try rows("interfaces", "agent_id = '\(goneIds[0])'")
        #expect(goneInterfaces > 0 && goneAddresses > 0 && keptInterfaces > 0)
        let agentsBefore = try count(database, "agents")

        let dry = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, dryRun: true)
        #expect(dry.rows("agents") == 2 && dry.rows("interfaces") == Int(goneInterfaces))
        #expect(try count(database, "agents") == agentsBefore, "a dry run changes nothing")
        let report = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false)
        #expect(report.deleted.map(\.table) == dry.deleted.map(\.table) && report.deleted.map(\.rows) == dry.deleted.map(\.rows))
        #expect(report.rows("threats") == old.count)
        #expect(report.rows("agents") == 2)
        #expect(report.rows("interfaces") == Int(goneInterfaces))
        #expect(report.rows("interface_addresses") == Int(goneAddresses))
        #expect(Array(report.deleted.map(\.table).suffix(3)) == ["interface_addresses", "interfaces", "agents"])
        for table in ["agents", "interfaces", "interface_addresses"] {
            #expect(try rows(table, "agent_id IN (\(goneList))") == 0, "\(table)")
        }
        #expect(try count(database, "agents") == agentsBefore - 2)
        #expect(try rows("agents", "agent_id = '\(keptId)'") == 1)
        #expect(try rows("interfaces", "agent_id = '\(keptId)'") == keptInterfaces)
        #expect(try rows("agent_exposure", "threat_count = 0") == 0)
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
        #expect(try database.query("PRAGMA integrity_check") == [["ok"]])

        // A threat of a removed agent that changes on the console brings the agent back whole.
        let returning = byAgent[gone[0]]![0]
        bench.mock.touch([returning])
        #expect(try await bench.sync(try bench.syncOptions(since: nil)).status == .ok)
        #expect(try rows("agents", "agent_id = '\(goneIds[0])'") == 1)
        #expect(try rows("interfaces", "agent_id = '\(goneIds[0])'") == firstGoneInterfaces)
    }

    @Test func rawOnlyKeepsTheFlattenedRows() async throws {
        let (bench, old) = try await prepared()
        defer { Task { await bench.stop() } }
        let database = try StoreOpener.openForWriting(path: bench.db)
        let before = try counts(database)
        let report = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: true)
        #expect(report.deleted.map(\.table) == ["raw_analyses"])
        #expect(report.rows("raw_analyses") == 25)
        let after = try counts(database)
        #expect(after["raw_analyses"] == before["raw_analyses"]! - 25)
        #expect(after["threats"] == before["threats"])
        #expect(after["mitigations"] == before["mitigations"])
        #expect(try count(database, "raw_analyses", where: "threat_id = '\(old[0])'") == 0)
        // A cutoff before everything removes nothing.
        #expect(try Pruner.prune(database, olderThan: "2019-01-01T00:00:00.000000Z", rawOnly: false).total == 0)
    }

    @Test func prunedThreatsComeBackWhenTheyChange() async throws {
        let (bench, old) = try await prepared()
        defer { Task { await bench.stop() } }
        do {
            let database = try StoreOpener.openForWriting(path: bench.db)
            _ = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false)
        }
        let index = try #require(bench.set.index(of: old[3]))
        bench.mock.touch([index])
        let summary = try await bench.sync(try bench.syncOptions(since: nil))
        #expect(summary.status == .ok)
        #expect(summary.ingest?.counts.stored == 1)
        #expect(try count(bench.database(), "threats") == 36)
    }

    /// Two consoles, every threat old: `console` prunes only its own threats, raw bodies and
    /// agents; the other console's rows stay whole.
    @Test func pruneOfOneConsoleLeavesTheOthers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let two = try await TwoConsoles.make(at: directory.path("two.sqlite"))
        let database = try StoreOpener.openForWriting(path: two.path)
        try database.execute("UPDATE threats SET last_ingested_at = '2020-01-01T00:00:00.000000Z'")
        try database.execute("UPDATE raw_analyses SET ingested_at = '2020-01-01T00:00:00.000000Z'")
        let east = two.threatIds("east"), west = two.threatIds("west")
        let westBefore = try counts(database, only: west)
        let westAgents = try count(database, "agents", where: "console = 'west'")
        let westInterfaces = try count(database, "interfaces", where: "agent_id IN (SELECT agent_id FROM agents WHERE console = 'west')")
        #expect(westAgents == 3 && westInterfaces > 0)

        // Raw bodies only: east's go.
        let raw = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: true, console: "east")
        #expect(raw.rows("raw_analyses") == east.count)
        #expect(try count(database, "raw_analyses") == Int64(west.count))

        let dry = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, dryRun: true, console: "east")
        #expect(dry.rows("threats") == east.count && dry.rows("agents") == 3)
        let report = try Pruner.prune(database, olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, console: "east")
        #expect(report.deleted.map(\.rows) == dry.deleted.map(\.rows))
        #expect(try count(database, "threats", where: "console = 'east'") == 0)
        #expect(try count(database, "agents", where: "console = 'east'") == 0)
        #expect(try counts(database, only: west) == westBefore)
        #expect(try count(database, "threats") == Int64(west.count))
        #expect(try count(database, "agents") == westAgents)
        #expect(try count(database, "interfaces") == westInterfaces)
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)

        // Through the store: a console with nothing old left removes nothing; without one, west goes too.
        let store = StoreBackends.provider(for: two.path)
        #expect(try store.prune(olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, dryRun: false, console: "east").total == 0)
        #expect(try store.prune(olderThan: "2021-01-01T00:00:00.000000Z", rawOnly: false, dryRun: false).rows("threats") == west.count)
    }
}
