import S1Common
import S1Model
import S1Storage

// `s1ingest copy` from and to a SQLite file: the SQL of `CopySource` and `CopyTarget`.

extension SQLiteStoreProvider: CopyableStoreProvider {
    /// Opens the file read-only (SQLite refuses every write on the connection); refuses a
    /// missing file, a file s1ingest did not make, one from a newer s1ingest, and one not yet
    /// at this version's schema (`migrate` it first: the source is never changed).
    public func openCopySource() throws -> any CopySource {
        let database: Database
        let version: Int
        let tables: Int64
        let applicationId: Int64?
        do {
            database = try StoreOpener.openForReading(path: path)
            version = try database.userVersion
            tables = try database.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'threats'").integerValue ?? 0
            applicationId = try database.scalar("PRAGMA application_id").integerValue
        } catch let error as SQLiteError {
            throw CopySourceError.unreadable(location: path, detail: error.message)
        }
        if tables == 0 || applicationId != Int64(Migrator.applicationId) {
            throw MigrationError.notAnS1ingestDatabase(path: path)
        }
        if version < Migrator.latestVersion { throw CopySourceError.olderSchema(location: path, version: version, current: Migrator.latestVersion) }
        return SQLiteCopySource(database: database)
    }

    public func openCopyTarget() throws -> any Store & CopyTarget {
        try SQLiteStore(database: StoreOpener.openForWriting(path: path))
    }
}

/// Why a store cannot be copied from as it is.
public enum CopySourceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The source is at an older schema: copying reads it as this version's, and never changes it.
    case olderSchema(location: String, version: Int, current: Int)
    /// The file cannot be read as a SQLite database.
    case unreadable(location: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let location, let detail):
            return "cannot read \(location) as an s1ingest database: \(detail)"
        case .olderSchema(let location, let version, let current):
            return "\(location) is at schema version \(version), older than this s1ingest's (\(current)): copy never changes its source, so run s1ingest migrate --db \(location) first"
        }
    }
}

/// A SQLite file read by `copy`, over a read-only connection.
final class SQLiteCopySource: CopySource {
    let database: Database

    init(database: Database) {
        self.database = database
    }

    var location: String { database.path }

    func consoles() throws -> [ConsoleRecord] { try ConsoleNames.all(database) }

    func copiableThreatCount() throws -> Int {
        Int(try database.scalar("SELECT count(*) FROM raw_analyses r JOIN threats t ON t.threat_id = r.threat_id").integerValue ?? 0)
    }

    func threatsWithoutRawBody() throws -> Int {
        Int(try database.scalar("SELECT count(*) FROM threats t WHERE NOT EXISTS (SELECT 1 FROM raw_analyses r WHERE r.threat_id = t.threat_id)")
            .integerValue ?? 0)
    }

    func threats(agentOwners: Bool, after threatId: String, limit: Int) throws -> [CopiedThreat] {
        try database.prepare("""
            SELECT r.threat_id, r.body, r.source, r.ingested_at, t.last_ingested_at, r.rowid, t.console, t.first_ingested_at
            FROM threats t JOIN raw_analyses r ON r.threat_id = t.threat_id LEFT JOIN agents a ON a.agent_id = t.agent_id
            WHERE t.threat_id > ?1 AND coalesce(a.last_threat_id = t.threat_id, 0) = ?2
            ORDER BY t.threat_id LIMIT ?3
            """).rows([.text(threatId), .integer(agentOwners ? 1 : 0), .integer(Int64(limit))]).compactMap { row in
            guard let id = row[0].textValue else { return nil }
            let raw = RawBody(threatId: id, body: row[1].textValue.map { Array($0.utf8) } ?? [], source: row[2].textValue,
                              ingestedAt: row[3].textValue, lastIngestedAt: row[4].textValue,
                              console: row[6].textValue ?? ConsoleRef.defaultName, position: row[5].integerValue ?? 0)
            return CopiedThreat(raw: raw, firstIngestedAt: row[7].textValue)
        }
    }

    func agentTimes(after agentId: String, limit: Int) throws -> [AgentIngestTimes] {
        try database.prepare("""
            SELECT agent_id, console, first_ingested_at, last_ingested_at, last_threat_id FROM agents
            WHERE agent_id > ?1 ORDER BY agent_id LIMIT ?2
            """).rows([.text(agentId), .integer(Int64(limit))]).map(Self.agentTimes)
    }

    static func agentTimes(_ row: [SQLValue]) -> AgentIngestTimes {
        AgentIngestTimes(agentId: row[0].textValue ?? "", console: row[1].textValue ?? ConsoleRef.defaultName,
                         firstIngestedAt: row[2].textValue ?? "", lastIngestedAt: row[3].textValue ?? "", lastThreatId: row[4].textValue)
    }

    func runRows() throws -> [RunRow] { try SQLiteCopyRows.runs(database) }

    func queueRows(after threatId: String, limit: Int) throws -> [QueueRow] {
        try database.prepare("\(SQLiteCopyRows.queueSelect) WHERE threat_id > ?1 ORDER BY threat_id LIMIT ?2")
            .rows([.text(threatId), .integer(Int64(limit))]).map(SQLiteCopyRows.queueRow)
    }

    func watermarkRows() throws -> [WatermarkRow] { try SQLiteCopyRows.watermarks(database) }

    func paceRows() throws -> [PaceRow] { try SQLiteCopyRows.paces(database) }
}

/// The rows `copy` moves, read from any SQLite connection.
enum SQLiteCopyRows {
    static let runSelect = """
        SELECT run_id, command, source, console, console_url, started_at, ended_at, status, requested, stored, unchanged, not_found,
               failed, invalid_ids, retries, requests, conflicts, message, version, pace, budget, rate_limited FROM ingest_runs
        """

    static func runs(_ database: Database) throws -> [RunRow] {
        try database.query(runSelect + " ORDER BY run_id").map { row in
            func int(_ index: Int) -> Int64 { row[index].integerValue ?? 0 }
            func real(_ index: Int) -> Double? {
                switch row[index] {
                case .real(let value): return value
                case .integer(let value): return Double(value)
                default: return nil
                }
            }
            return RunRow(runId: int(0), command: row[1].textValue ?? "", source: row[2].textValue ?? "", console: row[3].textValue,
                          consoleURL: row[4].textValue, startedAt: row[5].textValue ?? "", endedAt: row[6].textValue, status: row[7].textValue ?? "",
                          requested: int(8), stored: int(9), unchanged: int(10), notFound: int(11), failed: int(12), invalidIds: int(13),
                          retries: int(14), requests: int(15), conflicts: int(16), message: row[17].textValue, version: row[18].textValue ?? "",
                          pace: real(19), budget: real(20), rateLimited: int(21))
        }
    }

    static let queueSelect = """
        SELECT threat_id, console, state, attempts, last_status, last_error, retryable, next_attempt_at, enqueued_at, updated_at, run_id
        FROM ingest_queue
        """

    static func queueRow(_ row: [SQLValue]) -> QueueRow {
        QueueRow(threatId: row[0].textValue ?? "", console: row[1].textValue ?? ConsoleRef.defaultName, state: row[2].textValue ?? "pending",
                 attempts: row[3].integerValue ?? 0, lastStatus: row[4].integerValue, lastError: row[5].textValue,
                 retryable: (row[6].integerValue ?? 1) != 0, nextAttemptAt: row[7].textValue, enqueuedAt: row[8].textValue ?? "",
                 updatedAt: row[9].textValue ?? "", runId: row[10].integerValue)
    }

    static func watermarks(_ database: Database) throws -> [WatermarkRow] {
        try database.query("SELECT sync_key, console, watermark, updated_at, run_id FROM sync_state ORDER BY sync_key").map {
            WatermarkRow(syncKey: $0[0].textValue ?? "", console: $0[1].textValue ?? ConsoleRef.defaultName, watermark: $0[2].textValue ?? "",
                         updatedAt: $0[3].textValue ?? "", runId: $0[4].integerValue)
        }
    }

    static func paces(_ database: Database) throws -> [PaceRow] {
        try database.query("SELECT console, budget, measured_at, run_id FROM console_pace ORDER BY console").compactMap { row in
            let budget: Double
            switch row[1] {
            case .real(let value): budget = value
            case .integer(let value): budget = Double(value)
            default: return nil
            }
            return PaceRow(console: row[0].textValue ?? "", budget: budget, measuredAt: row[2].textValue ?? "", runId: row[3].integerValue)
        }
    }
}

extension SQLiteStore: CopyTarget {
    private func transaction(_ body: () throws -> Void) throws {
        try database.immediateTransaction(body)
    }

    public func writeConsoles(_ records: [ConsoleRecord]) throws {
        guard !records.isEmpty else { return }
        try transaction {
            let statement = try database.prepare("""
                INSERT INTO consoles (console, url, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (console) DO UPDATE SET url = excluded.url, first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at
                """)
            for record in records {
                try statement.run([.text(record.name), record.url.sqlValue, .text(record.firstSeenAt), .text(record.lastSeenAt)])
            }
        }
    }

    public func storedIngestTimes(_ ids: [String]) throws -> [String: ThreatIngestTimes] {
        let statement = try database.prepare("""
            SELECT t.threat_id, t.first_ingested_at, t.last_ingested_at, r.source, r.ingested_at
            FROM threats t JOIN raw_analyses r ON r.threat_id = t.threat_id WHERE t.threat_id = ?1
            """)
        var result: [String: ThreatIngestTimes] = [:]
        for id in ids {
            guard let row = try statement.rows([.text(id)]).first else { continue }
            result[id] = ThreatIngestTimes(threatId: id, firstIngestedAt: row[1].textValue ?? "", lastIngestedAt: row[2].textValue ?? "",
                                           rawSource: row[3].textValue, rawIngestedAt: row[4].textValue ?? "")
        }
        return result
    }

    public func writeIngestTimes(_ times: [ThreatIngestTimes]) throws {
        guard !times.isEmpty else { return }
        try transaction {
            let threats = try database.prepare("UPDATE threats SET first_ingested_at = ?2, last_ingested_at = ?3 WHERE threat_id = ?1")
            let raw = try database.prepare("UPDATE raw_analyses SET source = ?2, ingested_at = ?3 WHERE threat_id = ?1")
            for time in times {
                try threats.run([.text(time.threatId), .text(time.firstIngestedAt), .text(time.lastIngestedAt)])
                try raw.run([.text(time.threatId), time.rawSource.sqlValue, .text(time.rawIngestedAt)])
            }
        }
    }

    public func storedAgentTimes(_ ids: [String]) throws -> [String: AgentIngestTimes] {
        let statement = try database.prepare("""
            SELECT agent_id, console, first_ingested_at, last_ingested_at, last_threat_id FROM agents WHERE agent_id = ?1
            """)
        var result: [String: AgentIngestTimes] = [:]
        for id in ids {
            if let row = try statement.rows([.text(id)]).first { result[id] = SQLiteCopySource.agentTimes(row) }
        }
        return result
    }

    public func writeAgentTimes(_ times: [AgentIngestTimes]) throws {
        guard !times.isEmpty else { return }
        try transaction {
            let statement = try database.prepare("""
                UPDATE agents SET first_ingested_at = ?2, last_ingested_at = ?3, last_threat_id = ?4 WHERE agent_id = ?1
                """)
            for time in times {
                try statement.run([.text(time.agentId), .text(time.firstIngestedAt), .text(time.lastIngestedAt), time.lastThreatId.sqlValue])
            }
        }
    }

    public func storedRunRows() throws -> [RunRow] { try SQLiteCopyRows.runs(database) }

    public func writeRunRows(_ rows: [RunRow]) throws -> [Int64] {
        var ids: [Int64] = []
        try transaction {
            let insert = try database.prepare("""
                INSERT INTO ingest_runs (command, source, console, console_url, started_at, ended_at, status, requested, stored, unchanged,
                    not_found, failed, invalid_ids, retries, requests, conflicts, message, version, pace, budget, rate_limited)
                VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
                """)
            let update = try database.prepare("""
                UPDATE ingest_runs SET command = ?2, source = ?3, console = ?4, console_url = ?5, started_at = ?6, ended_at = ?7, status = ?8,
                    requested = ?9, stored = ?10, unchanged = ?11, not_found = ?12, failed = ?13, invalid_ids = ?14, retries = ?15,
                    requests = ?16, conflicts = ?17, message = ?18, version = ?19, pace = ?20, budget = ?21, rate_limited = ?22
                WHERE run_id = ?1
                """)
            for row in rows {
                let values: [SQLValue] = [
                    .integer(row.runId), .text(row.command), .text(row.source), row.console.sqlValue, row.consoleURL.sqlValue, .text(row.startedAt),
                    row.endedAt.sqlValue, .text(row.status), .integer(row.requested), .integer(row.stored), .integer(row.unchanged),
                    .integer(row.notFound), .integer(row.failed), .integer(row.invalidIds), .integer(row.retries), .integer(row.requests),
                    .integer(row.conflicts), row.message.sqlValue, .text(row.version), row.pace.map { .real($0) } ?? .null,
                    row.budget.map { .real($0) } ?? .null, .integer(row.rateLimited),
                ]
                if row.runId == 0 {
                    try insert.run(values)
                    ids.append(try database.scalar("SELECT last_insert_rowid()").integerValue ?? 0)
                } else {
                    try update.run(values)
                    ids.append(row.runId)
                }
            }
        }
        return ids
    }

    public func storedQueueRows(_ ids: [String]) throws -> [String: QueueRow] {
        let statement = try database.prepare(SQLiteCopyRows.queueSelect + " WHERE threat_id = ?1")
        var result: [String: QueueRow] = [:]
        for id in ids {
            if let row = try statement.rows([.text(id)]).first { result[id] = SQLiteCopyRows.queueRow(row) }
        }
        return result
    }

    public func writeQueueRows(_ rows: [QueueRow]) throws {
        guard !rows.isEmpty else { return }
        try transaction {
            let statement = try database.prepare("""
                INSERT INTO ingest_queue (threat_id, console, state, attempts, last_status, last_error, retryable, next_attempt_at,
                    enqueued_at, updated_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT (threat_id) DO UPDATE SET console = excluded.console, state = excluded.state, attempts = excluded.attempts,
                    last_status = excluded.last_status, last_error = excluded.last_error, retryable = excluded.retryable,
                    next_attempt_at = excluded.next_attempt_at, enqueued_at = excluded.enqueued_at, updated_at = excluded.updated_at,
                    run_id = excluded.run_id
                """)
            for row in rows {
                try statement.run([.text(row.threatId), .text(row.console), .text(row.state), .integer(row.attempts),
                                   row.lastStatus.map { .integer($0) } ?? .null, row.lastError.sqlValue, .integer(row.retryable ? 1 : 0),
                                   row.nextAttemptAt.sqlValue, .text(row.enqueuedAt), .text(row.updatedAt), row.runId.map { .integer($0) } ?? .null])
            }
        }
    }

    public func storedWatermarkRows() throws -> [WatermarkRow] { try SQLiteCopyRows.watermarks(database) }

    public func writeWatermarkRows(_ rows: [WatermarkRow]) throws {
        guard !rows.isEmpty else { return }
        try transaction {
            let statement = try database.prepare("""
                INSERT INTO sync_state (sync_key, console, watermark, updated_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT (sync_key) DO UPDATE SET console = excluded.console, watermark = excluded.watermark,
                    updated_at = excluded.updated_at, run_id = excluded.run_id
                """)
            for row in rows {
                try statement.run([.text(row.syncKey), .text(row.console), .text(row.watermark), .text(row.updatedAt),
                                   row.runId.map { .integer($0) } ?? .null])
            }
        }
    }

    public func storedPaceRows() throws -> [PaceRow] { try SQLiteCopyRows.paces(database) }

    public func writePaceRows(_ rows: [PaceRow]) throws {
        guard !rows.isEmpty else { return }
        try transaction {
            let statement = try database.prepare("""
                INSERT INTO console_pace (console, budget, measured_at, run_id) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (console) DO UPDATE SET budget = excluded.budget, measured_at = excluded.measured_at, run_id = excluded.run_id
                """)
            for row in rows {
                try statement.run([.text(row.console), .real(row.budget), .text(row.measuredAt), row.runId.map { .integer($0) } ?? .null])
            }
        }
    }
}
