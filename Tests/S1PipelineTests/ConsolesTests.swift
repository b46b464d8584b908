import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// Several consoles in one database (issue 14): real mock consoles on loopback ports of their
/// own, with their own tokens and ID ranges, syncing into one SQLite file.
@Suite struct ConsolesTests {
    /// Two consoles that share no threat or agent ID, and a database in `east`'s directory.
    static func twoConsoles(count: Int = 200) async throws -> (east: IngestBench, west: IngestBench) {
        let east = try await IngestBench.start(count: count)
        let west = try await IngestBench.start(count: count, idBase: 1_000_000, scratch: east.scratch)
        return (east, west)
    }

    static func job(_ bench: IngestBench, name: String, token: String? = nil, url: String? = nil) throws -> SyncOptions {
        var options = try bench.syncOptions(token: token)
        if let url { options.endpoint = try ConsoleEndpoint(url: url, token: token ?? bench.token) }
        options.consoleName = name
        return options
    }

    @Test func twoConsolesSyncConcurrentlyIntoOneDatabaseEachWithItsOwnRows() async throws {
        let (east, west) = try await Self.twoConsoles()
        defer { Task { await east.stop(); await west.stop() } }
        let syncer = MultiSyncer(jobs: [try Self.job(east, name: "east"), try Self.job(west, name: "west")],
                                 store: SQLiteStoreProvider(path: east.db))
        let summary = try await syncer.run()
        #expect(summary.consoles.map(\.name) == ["east", "west"])
        #expect(summary.consoles.map(\.status) == [.ok, .ok], "\(summary.consoles.map { $0.error ?? $0.summary?.message ?? "" })")
        #expect(summary.worst == .ok)
        #expect(summary.total.stored == 400)
        let database = try east.database()
        #expect(try database.query("SELECT console, count(*) FROM threats GROUP BY console ORDER BY 1").map { "\($0[0].textValue!)=\($0[1].integerValue!)" }
                == ["east=200", "west=200"])
        // Each console's threats are the IDs it serves, and their agents are its agents.
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console = 'east' AND threat_id = ?", [.text(east.set.threatId(0))]).integerValue == 1)
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console = 'west' AND threat_id = ?", [.text(west.set.threatId(0))]).integerValue == 1)
        #expect(try database.scalar("SELECT count(*) FROM agents a JOIN threats t ON t.agent_id = a.agent_id WHERE a.console <> t.console").integerValue == 0)
        #expect(try database.scalar("SELECT count(DISTINCT console) FROM agents").integerValue == 2)
        #expect(try database.query("SELECT console, url FROM consoles ORDER BY console").map { $0.compactMap(\.textValue) }
                == [["east", east.mock.baseURL], ["west", west.mock.baseURL]])
        #expect(try database.query("SELECT console, sync_key FROM sync_state ORDER BY console").map { $0.compactMap(\.textValue) }
                == [["east", east.mock.baseURL], ["west", west.mock.baseURL]])
        #expect(try database.query("SELECT console, console_url, stored FROM ingest_runs WHERE command = 'sync' ORDER BY console").map { "\($0[0].textValue!) \($0[1].textValue!) \($0[2].integerValue!)" }
                == ["east \(east.mock.baseURL) 200", "west \(west.mock.baseURL) 200"])
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state <> 'done'").integerValue == 0)
        #expect(try database.scalar("SELECT count(*) FROM ingest_runs WHERE status <> 'ok'").integerValue == 0)
        #expect(try database.scalar("SELECT count(DISTINCT console) FROM threat_overview").integerValue == 2)
        // Nothing was asked of the wrong console.
        #expect((0..<200).allSatisfy { east.mock.requestCount(forThreat: west.set.threatId($0)) == 0 })
        #expect((0..<200).allSatisfy { west.mock.requestCount(forThreat: east.set.threatId($0)) == 0 })
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
    }

    @Test(.cpuExclusive) func aDownConsoleAndARefusedTokenEndOnlyTheirOwnSyncs() async throws {
        let (east, west) = try await Self.twoConsoles(count: 300)
        defer { Task { await east.stop(); await west.stop() } }
        let closed = ClosedPort.url()
        var down = try Self.job(east, name: "down", url: closed)
        down.client.connectTimeout = .seconds(1)
        let jobs = [try Self.job(east, name: "east"), down, try Self.job(west, name: "refused", token: "not-the-token")]
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try await MultiSyncer(jobs: jobs, store: SQLiteStoreProvider(path: east.db)).run()
        #expect(clock.now - started < .seconds(60))
        let byName = Dictionary(uniqueKeysWithValues: summary.consoles.map { ($0.name, $0) })
        #expect(byName["east"]?.status == .ok, "\(byName["east"]?.summary?.message ?? "")")
        #expect(byName["east"]?.summary?.ingest?.counts.stored == 300)
        #expect(byName["down"]?.status == .failed)
        #expect(byName["down"]?.summary?.message?.contains(closed) == true, "\(byName["down"]?.summary?.message ?? "")")
        #expect(byName["refused"]?.outcome == .authentication)
        // The order of severity: a refused token is worse than an unreachable console.
        #expect(summary.worst == .authentication)
        let database = try east.database()
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console = 'east'").integerValue == 300)
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console <> 'east'").integerValue == 0)
        #expect(try database.query("SELECT console, status FROM ingest_runs ORDER BY console").map { $0.compactMap(\.textValue) }
                == [["down", "failed"], ["east", "ok"], ["refused", "failed"]])
        // The failed consoles' watermarks started but did not move past their start.
        #expect(try database.scalar("SELECT count(*) FROM sync_state").integerValue == 3)
    }

    @Test func anIDQueuedForOneConsoleIsNeverAskedOfAnother() async throws {
        let (east, west) = try await Self.twoConsoles(count: 50)
        defer { Task { await east.stop(); await west.stop() } }
        // West's IDs wait in the queue for west; east drains its own queue.
        do {
            let store = try SQLiteStoreProvider(path: east.db).openForWriting()
            _ = try store.registerConsole(name: "east", url: east.mock.baseURL)
            let westRef = try store.registerConsole(name: "west", url: west.mock.baseURL)
            try store.enqueue((0..<50).map(west.set.threatId), console: westRef.name, runId: nil)
            try store.enqueue((0..<10).map(east.set.threatId), console: "east", runId: nil)
        }
        var eastDrain = try east.options(source: .queue)
        eastDrain.consoleName = "east"
        let drained = try await east.run(eastDrain)
        #expect(drained.status == .ok, "\(drained.message ?? "")")
        #expect(drained.counts.requested == 10)
        #expect(drained.counts.stored == 10)
        #expect(drained.counts.notFound == 0)
        #expect((0..<50).allSatisfy { east.mock.requestCount(forThreat: west.set.threatId($0)) == 0 })
        let database = try east.database()
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE console = 'west' AND state = 'pending'").integerValue == 50)
        // A bare --console URL finds the name the database holds for it.
        let westDrain = try await west.run(try west.options(source: .queue))
        #expect(westDrain.console?.name == "west")
        #expect(westDrain.counts.stored == 50)
        #expect(try database.query("SELECT console, state, count(*) FROM ingest_queue GROUP BY 1, 2 ORDER BY 1").map { "\($0[0].textValue!) \($0[1].textValue!) \($0[2].integerValue!)" }
                == ["east done 10", "west done 50"])
    }

    @Test func aThreatStoredForAnotherConsoleIsAConflictNotAnOverwrite() async throws {
        // Two consoles serving the same IDs (a mistake, or a tenant moved between consoles).
        let east = try await IngestBench.start(count: 20)
        let twin = try await IngestBench.start(count: 20, scratch: east.scratch)
        defer { Task { await east.stop(); await twin.stop() } }
        var first = try east.options()
        first.consoleName = "east"
        #expect(try await east.run(first).counts.stored == 20)
        let before = try east.database().scalar("SELECT group_concat(updated_at || last_ingested_at) FROM threats")

        var second = try twin.options(ids: (0..<5).map(twin.set.threatId))
        second.consoleName = "twin"
        let summary = try await twin.run(second)
        #expect(summary.counts.conflicts == 5)
        #expect(summary.counts.stored == 0)
        #expect(summary.status == .partial)
        #expect(summary.outcomes[.conflict] == 5)
        let database = try east.database()
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console = 'east'").integerValue == 20)
        #expect(try database.scalar("SELECT count(*) FROM threats WHERE console = 'twin'").integerValue == 0)
        #expect(try database.scalar("SELECT group_concat(updated_at || last_ingested_at) FROM threats") == before)
        // Kept as a failure no run retries, naming both consoles.
        let rows = try database.query("SELECT state, retryable, last_error, console FROM ingest_queue WHERE threat_id = ?", [.text(twin.set.threatId(0))])
        #expect(rows.first?[0].textValue == "failed")
        #expect(rows.first?[1].integerValue == 0)
        #expect(rows.first?[2].textValue?.contains("'east'") == true && rows.first?[2].textValue?.contains("'twin'") == true, "\(rows)")
        #expect(rows.first?[3].textValue == "twin")
        #expect(try database.scalar("SELECT conflicts FROM ingest_runs WHERE console = 'twin'").integerValue == 5)
        // A drain of twin's queue does not ask again.
        var retry = try twin.options(source: .queue)
        retry.consoleName = "twin"
        #expect(try await twin.run(retry).counts.requested == 0)
    }

    @Test func anAgentStoredForAnotherConsoleIsAConflictToo() throws {
        let scratch = try TemporaryDirectory()
        let set = SyntheticAnalyses(count: 2, seed: 3, agentCount: 1)
        let store = try SQLiteStoreProvider(path: scratch.path("a.sqlite")).openForWriting()
        func analysis(_ body: String) throws -> FlattenedAnalysis {
            guard case .success(let decoded)? = AnalysisDecoder.decode(bytes: Array(body.utf8), location: DocumentLocation(source: "test", line: 1)).first
            else { throw CancellationError() }
            return AnalysisFlattener.flatten(decoded, ingestedAt: currentTimestamp())
        }
        try store.beginBatch()
        #expect(try store.store(try analysis(set.body(0)), console: "east", ingestedAt: currentTimestamp()) == .inserted)
        // Another threat on the same agent, from another console.
        let outcome = try store.store(try analysis(set.body(1)), console: "west", ingestedAt: currentTimestamp())
        try store.commitBatch()
        #expect(outcome == .conflict)
        #expect(store.lastConflict == StoreConflict(kind: .agent, id: set.agentId(0), storedConsole: "east", incomingConsole: "west"))
        let database = try StoreOpener.openForReading(path: scratch.path("a.sqlite"))
        #expect(try database.scalar("SELECT count(*) FROM threats").integerValue == 1)
    }
}
