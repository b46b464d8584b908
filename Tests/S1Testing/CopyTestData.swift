import Foundation
import S1IngestCore
import S1MockConsole

/// A database with something of everything `s1ingest copy` moves, and a way to compare two
/// stores' contents whatever their backend.
package enum CopyTestData {
    /// Fills a new SQLite file at `path`: the fixtures and `analyses` synthetic analyses for
    /// console `default` (a URL), `otherConsole` analyses for console `acme`, runs with their
    /// pacing, queue rows in every state, watermarks and a learned pace.
    package static func makeSource(_ path: String, analyses: Int, otherConsole: Int = 20, seed: UInt64 = 11,
                                   directory: TemporaryDirectory) async throws {
        let provider = SQLiteStoreProvider(path: path)
        let store = try provider.openForWriting()
        let main = try store.registerConsole(name: nil, url: "https://main.example.net")
        let acme = try store.registerConsole(name: "acme", url: "https://acme.example.com")
        let run = try store.startRun(command: "sync", source: "the console's threat list", console: main)
        var counts = RunCounts()
        counts.requested = 5
        counts.stored = 3
        counts.notFound = 1
        counts.failed = 1
        counts.requests = 9
        try store.enqueue(["900000000000000001", "900000000000000002", "900000000000000003", "900000000000000004"], console: main.name, runId: run)
        try store.markDone("900000000000000001", attempts: 1, runId: run, at: "2026-01-02T03:04:05.000000Z")
        try store.markFailed("900000000000000002", failure: QueueFailure(notFound: true, status: 404, message: "HTTP 404", retryable: false),
                             attempts: 1, nextAttemptAt: nil, runId: run, at: "2026-01-02T03:04:06.000000Z")
        try store.markFailed("900000000000000003", failure: QueueFailure(notFound: false, status: 503, message: "HTTP 503 after 3 tries", retryable: true),
                             attempts: 3, nextAttemptAt: "2026-01-02T04:00:00.000000Z", runId: run, at: "2026-01-02T03:04:07.000000Z")
        _ = try store.advanceWatermark(key: "https://main.example.net", console: main.name, to: "2026-01-01T00:00:00.000000Z", runId: run)
        _ = try store.advanceWatermark(key: "https://acme.example.com sites=1,2", console: acme.name, to: "2026-01-01T12:00:00.123456Z", runId: run)
        try store.recordPacing(run, console: main.name, pacing: RunPacing(pace: 7.5, budget: 8.25, rateLimited: 2))
        try store.finishRun(run, status: .partial, counts: counts, message: "1 ID not found, 1 failed")
        let other = try store.startRun(command: "ingest", source: "ids.txt", console: acme)
        try store.finishRun(other, status: .ok, counts: RunCounts(), message: nil)
        _ = try store.startRun(command: "rebuild", source: "raw bodies", console: nil)
        store.finishWriting()

        let set = SyntheticAnalyses(count: analyses + otherConsole, seed: seed)
        let mainFile = try directory.file("main-\(seed).ndjson", (0 ..< analyses).map { set.body($0) }.joined(separator: "\n"))
        _ = try await Importer(options: ImportOptions(databasePath: path, inputs: Fixture.all.map(Fixture.path) + [mainFile]), store: provider).run()
        if otherConsole > 0 {
            // Their own agents, so they are not conflicts of the main console's.
            let acmeSet = SyntheticAnalyses(count: otherConsole, seed: seed + 1000, agentCount: 3, idBase: 500_000)
            let acmeFile = try directory.file("acme-\(seed).ndjson", (0 ..< otherConsole).map { acmeSet.body($0) }.joined(separator: "\n"))
            var options = ImportOptions(databasePath: path, inputs: [acmeFile])
            options.console = "acme"
            _ = try await Importer(options: options, store: provider).run()
        }
    }

    /// Every table's row count and the contents `copy` must carry, as each backend reads them.
    package static func snapshot(_ provider: any StoreProvider) throws -> [String: [[SQLValue]]] {
        let reader = try provider.openReader()
        let postgres = provider is PostgresStoreProvider
        var result: [String: [[SQLValue]]] = [:]
        for table in Table.allCases.map(\.name) + ["consoles", "ingest_runs", "ingest_queue", "sync_state", "console_pace"] {
            result["count " + table] = try reader.query("SELECT count(*) FROM \(table)").allRows()
        }
        let queries: [String: String] = [
            "threat_overview": "SELECT * FROM threat_overview ORDER BY threat_id",
            "threats": "SELECT threat_id, console, agent_id, updated_at, first_ingested_at, last_ingested_at FROM threats ORDER BY threat_id",
            "raw": "SELECT threat_id, \(postgres ? "body::text" : "body"), source, ingested_at FROM raw_analyses ORDER BY threat_id",
            "agents": """
                SELECT agent_id, console, agent_computer_name, agent_os_name, agent_is_active, agent_infected, site_id, group_name,
                       first_ingested_at, last_ingested_at, last_threat_id FROM agents ORDER BY agent_id
                """,
            "mitigations": "SELECT threat_id, position, action, status, actions_failed FROM mitigations ORDER BY threat_id, position",
            "techniques": "SELECT threat_id, indicator_position, tactic_position, position, name FROM indicator_techniques ORDER BY 1, 2, 3, 4",
            "consoles": "SELECT console, url, first_seen_at, last_seen_at FROM consoles ORDER BY console",
            "runs": """
                SELECT run_id, command, source, console, console_url, started_at, ended_at, status, requested, stored, unchanged, not_found,
                       failed, invalid_ids, retries, requests, conflicts, message, version, pace, budget, rate_limited FROM ingest_runs ORDER BY run_id
                """,
            "queue": """
                SELECT threat_id, console, state, attempts, last_status, last_error, retryable, next_attempt_at, enqueued_at, updated_at, run_id
                FROM ingest_queue ORDER BY threat_id
                """,
            "watermarks": "SELECT sync_key, console, watermark, updated_at, run_id FROM sync_state ORDER BY sync_key",
            "paces": "SELECT console, budget, measured_at, run_id FROM console_pace ORDER BY console",
        ]
        for (name, sql) in queries { result[name] = try reader.query(sql).allRows() }
        return result
    }

    /// The names whose contents differ between two snapshots (empty when equal).
    package static func differences(_ a: [String: [[SQLValue]]], _ b: [String: [[SQLValue]]]) -> [String] {
        Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
    }
}
