import NIOCore
import PostgresNIO
import S1Common
import S1Model
import S1Storage

// `s1ingest copy` from and to PostgreSQL: the SQL of `CopySource` and `CopyTarget`.

extension PostgresStoreProvider: CopyableStoreProvider {
    /// Connects with every transaction read-only (`default_transaction_read_only`): nothing
    /// done through it can change the database. Refuses a database that is not migrated, is
    /// from a newer s1ingest, or is not yet at this version's schema.
    public func openCopySource() throws -> any CopySource {
        let connection = try connect()
        try Self.requireSchema(connection)
        let version = try PostgresMigrator.currentVersion(connection)
        if version < PostgresMigrator.latestVersion {
            connection.close()
            throw PostgresCopySourceError.olderSchema(location: connection.location.shown, version: version, current: PostgresMigrator.latestVersion)
        }
        try connection.query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        try connection.query("SET default_transaction_read_only = on")
        return PostgresCopySource(connection: connection)
    }

    public func openCopyTarget() throws -> any Store & CopyTarget {
        let connection = try connect()
        try PostgresMigrator.migrate(connection)
        return try PostgresStore(connection: connection)
    }
}

/// Why a PostgreSQL database cannot be copied from as it is.
public enum PostgresCopySourceError: Error, CustomStringConvertible, Sendable {
    case olderSchema(location: String, version: Int, current: Int)

    public var description: String {
        switch self {
        case .olderSchema(let location, let version, let current):
            return "\(location) is at schema version \(version), older than this s1ingest's (\(current)): copy never changes its source, so run s1ingest migrate --db \(location) first"
        }
    }
}

/// Text arrays for `= ANY($1::text[])` and `unnest`.
private func textArray(_ values: [String?]) -> PGBinaryValue {
    var array = PGArrayBuilder()
    for value in values {
        if let value { array.appendText(value) } else { array.appendNull() }
    }
    return array.finish()
}

private func bigintArray(_ values: [Int64?]) -> PGBinaryValue {
    var array = PGArrayBuilder(.bigint)
    for value in values {
        if let value { array.appendInt64(value) } else { array.appendNull() }
    }
    return array.finish()
}

/// The rows `copy` moves, read from any PostgreSQL connection.
enum PostgresCopyRows {
    static let runSelect = """
        SELECT run_id, command, source, console, console_url, \(isoText("started_at")), \(isoText("ended_at")), status, requested, stored,
               unchanged, not_found, failed, invalid_ids, retries, requests, conflicts, message, version, pace, budget, rate_limited
        FROM ingest_runs
        """

    static func runs(_ connection: PGConnection) throws -> [RunRow] {
        try connection.query(runSelect + " ORDER BY run_id").map { row in
            RunRow(runId: try row[0].decode(Int64.self), command: try row[1].decode(String.self), source: try row[2].decode(String.self),
                   console: try row[3].decode(String?.self), consoleURL: try row[4].decode(String?.self), startedAt: try row[5].decode(String?.self) ?? "",
                   endedAt: try row[6].decode(String?.self), status: try row[7].decode(String.self), requested: try row[8].decode(Int64.self),
                   stored: try row[9].decode(Int64.self), unchanged: try row[10].decode(Int64.self), notFound: try row[11].decode(Int64.self),
                   failed: try row[12].decode(Int64.self), invalidIds: try row[13].decode(Int64.self), retries: try row[14].decode(Int64.self),
                   requests: try row[15].decode(Int64.self), conflicts: try row[16].decode(Int64.self), message: try row[17].decode(String?.self),
                   version: try row[18].decode(String.self), pace: try row[19].decode(Double?.self), budget: try row[20].decode(Double?.self),
                   rateLimited: try row[21].decode(Int64.self))
        }
    }

    static let queueSelect = """
        SELECT threat_id, console, state, attempts, last_status, last_error, retryable, \(isoText("next_attempt_at")), \(isoText("enqueued_at")),
               \(isoText("updated_at")), run_id FROM ingest_queue
        """

    static func queueRow(_ row: [PostgresCell]) throws -> QueueRow {
        QueueRow(threatId: try row[0].decode(String.self), console: try row[1].decode(String.self), state: try row[2].decode(String.self),
                 attempts: try row[3].decode(Int64.self), lastStatus: try row[4].decode(Int64?.self), lastError: try row[5].decode(String?.self),
                 retryable: try row[6].decode(Bool.self), nextAttemptAt: try row[7].decode(String?.self), enqueuedAt: try row[8].decode(String.self),
                 updatedAt: try row[9].decode(String.self), runId: try row[10].decode(Int64?.self))
    }

    static func watermarks(_ connection: PGConnection) throws -> [WatermarkRow] {
        try connection.query("""
            SELECT sync_key, console, \(isoText("watermark")), \(isoText("updated_at")), run_id FROM sync_state ORDER BY sync_key
            """).map {
            WatermarkRow(syncKey: try $0[0].decode(String.self), console: try $0[1].decode(String.self), watermark: try $0[2].decode(String.self),
                         updatedAt: try $0[3].decode(String.self), runId: try $0[4].decode(Int64?.self))
        }
    }

    static func paces(_ connection: PGConnection) throws -> [PaceRow] {
        try connection.query("SELECT console, budget, \(isoText("measured_at")), run_id FROM console_pace ORDER BY console").map {
            PaceRow(console: try $0[0].decode(String.self), budget: try $0[1].decode(Double.self), measuredAt: try $0[2].decode(String.self),
                    runId: try $0[3].decode(Int64?.self))
        }
    }

    static let agentSelect = """
        SELECT agent_id, console, \(isoText("first_ingested_at")), \(isoText("last_ingested_at")), last_threat_id FROM agents
        """

    static func agentTimes(_ row: [PostgresCell]) throws -> AgentIngestTimes {
        AgentIngestTimes(agentId: try row[0].decode(String.self), console: try row[1].decode(String.self),
                         firstIngestedAt: try row[2].decode(String.self), lastIngestedAt: try row[3].decode(String.self),
                         lastThreatId: try row[4].decode(String?.self))
    }
}

/// A PostgreSQL database read by `copy`, over a read-only session.
final class PostgresCopySource: CopySource, PostgresRecordReading {
    let connection: PGConnection

    init(connection: PGConnection) {
        self.connection = connection
    }

    deinit { connection.close() }

    var location: String { connection.location.shown }

    func copiableThreatCount() throws -> Int {
        try connection.scalar("SELECT count(*) FROM raw_analyses r JOIN threats t ON t.threat_id = r.threat_id", as: Int.self) ?? 0
    }

    func threatsWithoutRawBody() throws -> Int {
        try connection.scalar("SELECT count(*) FROM threats t WHERE NOT EXISTS (SELECT 1 FROM raw_analyses r WHERE r.threat_id = t.threat_id)",
                              as: Int.self) ?? 0
    }

    func threats(agentOwners: Bool, after threatId: String, limit: Int) throws -> [CopiedThreat] {
        var binds = PostgresBindings()
        binds.text(threatId)
        binds.append(agentOwners)
        binds.append(limit)
        return try connection.query("""
            SELECT r.threat_id, r.body::text, r.source, \(isoText("r.ingested_at")), \(isoText("t.last_ingested_at")), t.console,
                   \(isoText("t.first_ingested_at"))
            FROM threats t JOIN raw_analyses r ON r.threat_id = t.threat_id LEFT JOIN agents a ON a.agent_id = t.agent_id
            WHERE t.threat_id > $1 AND coalesce(a.last_threat_id = t.threat_id, false) = $2
            ORDER BY t.threat_id LIMIT $3
            """, binds).map { row in
            var body = row[1].bytes ?? ByteBuffer()
            let raw = RawBody(threatId: try row[0].decode(String.self), body: body.readBytes(length: body.readableBytes) ?? [],
                              source: try row[2].decode(String?.self), ingestedAt: try row[3].decode(String?.self),
                              lastIngestedAt: try row[4].decode(String?.self), console: try row[5].decode(String.self), position: 0)
            return CopiedThreat(raw: raw, firstIngestedAt: try row[6].decode(String?.self))
        }
    }

    func agentTimes(after agentId: String, limit: Int) throws -> [AgentIngestTimes] {
        var binds = PostgresBindings()
        binds.text(agentId)
        binds.append(limit)
        return try connection.query(PostgresCopyRows.agentSelect + " WHERE agent_id > $1 ORDER BY agent_id LIMIT $2", binds)
            .map(PostgresCopyRows.agentTimes)
    }

    func runRows() throws -> [RunRow] { try PostgresCopyRows.runs(connection) }

    func queueRows(after threatId: String, limit: Int) throws -> [QueueRow] {
        var binds = PostgresBindings()
        binds.text(threatId)
        binds.append(limit)
        return try connection.query(PostgresCopyRows.queueSelect + " WHERE threat_id > $1 ORDER BY threat_id LIMIT $2", binds)
            .map(PostgresCopyRows.queueRow)
    }

    func watermarkRows() throws -> [WatermarkRow] { try PostgresCopyRows.watermarks(connection) }

    func paceRows() throws -> [PaceRow] { try PostgresCopyRows.paces(connection) }
}

extension PostgresStore: CopyTarget {
    /// Runs `queries` in one transaction of their own.
    private func transaction(_ queries: [PostgresQuery]) throws {
        guard !queries.isEmpty else { return }
        try connection.query("BEGIN")
        do {
            try connection.pipeline(queries)
            try connection.query("COMMIT")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
    }

    public func writeConsoles(_ records: [ConsoleRecord]) throws {
        try transaction(records.map { record in
            var binds = PostgresBindings()
            binds.text(record.name)
            binds.text(record.url)
            binds.text(record.firstSeenAt)
            binds.text(record.lastSeenAt)
            return PostgresQuery(unsafeSQL: """
                INSERT INTO consoles (console, url, first_seen_at, last_seen_at) VALUES ($1, $2, $3::timestamptz, $4::timestamptz)
                ON CONFLICT (console) DO UPDATE SET url = excluded.url, first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at
                """, binds: binds)
        })
    }

    public func storedIngestTimes(_ ids: [String]) throws -> [String: ThreatIngestTimes] {
        guard !ids.isEmpty else { return [:] }
        var binds = PostgresBindings()
        binds.append(textArray(ids))
        var result: [String: ThreatIngestTimes] = [:]
        for row in try connection.query("""
            SELECT t.threat_id, \(isoText("t.first_ingested_at")), \(isoText("t.last_ingested_at")), r.source, \(isoText("r.ingested_at"))
            FROM threats t JOIN raw_analyses r ON r.threat_id = t.threat_id WHERE t.threat_id = ANY($1::text[])
            """, binds) {
            let id = try row[0].decode(String.self)
            result[id] = ThreatIngestTimes(threatId: id, firstIngestedAt: try row[1].decode(String.self), lastIngestedAt: try row[2].decode(String.self),
                                           rawSource: try row[3].decode(String?.self), rawIngestedAt: try row[4].decode(String.self))
        }
        return result
    }

    public func writeIngestTimes(_ times: [ThreatIngestTimes]) throws {
        guard !times.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(textArray(times.map(\.threatId)))
        binds.append(textArray(times.map(\.firstIngestedAt)))
        binds.append(textArray(times.map(\.lastIngestedAt)))
        binds.append(textArray(times.map(\.rawSource)))
        binds.append(textArray(times.map(\.rawIngestedAt)))
        try transaction([
            PostgresQuery(unsafeSQL: """
                UPDATE threats SET first_ingested_at = u.first::timestamptz, last_ingested_at = u.last::timestamptz
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, first, last, source, raw)
                WHERE threats.threat_id = u.id
                """, binds: binds),
            PostgresQuery(unsafeSQL: """
                UPDATE raw_analyses SET source = u.source, ingested_at = u.raw::timestamptz
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, first, last, source, raw)
                WHERE raw_analyses.threat_id = u.id
                """, binds: binds),
        ])
    }

    public func storedAgentTimes(_ ids: [String]) throws -> [String: AgentIngestTimes] {
        guard !ids.isEmpty else { return [:] }
        var binds = PostgresBindings()
        binds.append(textArray(ids))
        var result: [String: AgentIngestTimes] = [:]
        for row in try connection.query(PostgresCopyRows.agentSelect + " WHERE agent_id = ANY($1::text[])", binds) {
            let times = try PostgresCopyRows.agentTimes(row)
            result[times.agentId] = times
        }
        return result
    }

    public func writeAgentTimes(_ times: [AgentIngestTimes]) throws {
        guard !times.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(textArray(times.map(\.agentId)))
        binds.append(textArray(times.map(\.firstIngestedAt)))
        binds.append(textArray(times.map(\.lastIngestedAt)))
        binds.append(textArray(times.map(\.lastThreatId)))
        try transaction([PostgresQuery(unsafeSQL: """
            UPDATE agents SET first_ingested_at = u.first::timestamptz, last_ingested_at = u.last::timestamptz, last_threat_id = u.owner
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, first, last, owner) WHERE agents.agent_id = u.id
            """, binds: binds)])
    }

    public func storedRunRows() throws -> [RunRow] { try PostgresCopyRows.runs(connection) }

    private static func runBindings(_ row: RunRow) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(row.runId)
        binds.text(row.command)
        binds.text(row.source)
        binds.text(row.console)
        binds.text(row.consoleURL)
        binds.text(row.startedAt)
        binds.text(row.endedAt)
        binds.text(row.status)
        for value in [row.requested, row.stored, row.unchanged, row.notFound, row.failed, row.invalidIds, row.retries, row.requests, row.conflicts] {
            binds.append(value)
        }
        binds.text(row.message)
        binds.text(row.version)
        binds.append(row.pace.flatMap { $0.isFinite ? $0 : nil })
        binds.append(row.budget.flatMap { $0.isFinite ? $0 : nil })
        binds.append(row.rateLimited)
        return binds
    }

    public func writeRunRows(_ rows: [RunRow]) throws -> [Int64] {
        guard !rows.isEmpty else { return [] }
        var ids: [Int64] = []
        try connection.query("BEGIN")
        do {
            for row in rows {
                let binds = Self.runBindings(row)
                if row.runId == 0 {
                    ids.append(try connection.scalar("""
                        INSERT INTO ingest_runs (command, source, console, console_url, started_at, ended_at, status, requested, stored, unchanged,
                            not_found, failed, invalid_ids, retries, requests, conflicts, message, version, pace, budget, rate_limited)
                        SELECT $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22
                        WHERE $1::bigint = 0
                        RETURNING run_id
                        """, binds, as: Int64.self) ?? 0)
                } else {
                    try connection.query("""
                        UPDATE ingest_runs SET command = $2, source = $3, console = $4, console_url = $5, started_at = $6::timestamptz,
                            ended_at = $7::timestamptz, status = $8, requested = $9, stored = $10, unchanged = $11, not_found = $12, failed = $13,
                            invalid_ids = $14, retries = $15, requests = $16, conflicts = $17, message = $18, version = $19, pace = $20,
                            budget = $21, rate_limited = $22
                        WHERE run_id = $1
                        """, binds)
                    ids.append(row.runId)
                }
            }
            try connection.query("COMMIT")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        return ids
    }

    public func storedQueueRows(_ ids: [String]) throws -> [String: QueueRow] {
        guard !ids.isEmpty else { return [:] }
        var binds = PostgresBindings()
        binds.append(textArray(ids))
        var result: [String: QueueRow] = [:]
        for row in try connection.query(PostgresCopyRows.queueSelect + " WHERE threat_id = ANY($1::text[])", binds) {
            let queued = try PostgresCopyRows.queueRow(row)
            result[queued.threatId] = queued
        }
        return result
    }

    public func writeQueueRows(_ rows: [QueueRow]) throws {
        guard !rows.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(textArray(rows.map(\.threatId)))
        binds.append(textArray(rows.map(\.console)))
        binds.append(textArray(rows.map(\.state)))
        binds.append(bigintArray(rows.map(\.attempts)))
        binds.append(bigintArray(rows.map(\.lastStatus)))
        binds.append(textArray(rows.map(\.lastError)))
        binds.append(textArray(rows.map { $0.retryable ? "true" : "false" }))
        binds.append(textArray(rows.map(\.nextAttemptAt)))
        binds.append(textArray(rows.map(\.enqueuedAt)))
        binds.append(textArray(rows.map(\.updatedAt)))
        binds.append(bigintArray(rows.map(\.runId)))
        try transaction([PostgresQuery(unsafeSQL: """
            INSERT INTO ingest_queue (threat_id, console, state, attempts, last_status, last_error, retryable, next_attempt_at, enqueued_at,
                updated_at, run_id)
            SELECT id, console, state, attempts, last_status, last_error, retryable::boolean, next_attempt_at::timestamptz, enqueued_at::timestamptz,
                   updated_at::timestamptz, run_id
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::bigint[])
                AS u(id, console, state, attempts, last_status, last_error, retryable, next_attempt_at, enqueued_at, updated_at, run_id)
            ON CONFLICT (threat_id) DO UPDATE SET console = excluded.console, state = excluded.state, attempts = excluded.attempts,
                last_status = excluded.last_status, last_error = excluded.last_error, retryable = excluded.retryable,
                next_attempt_at = excluded.next_attempt_at, enqueued_at = excluded.enqueued_at, updated_at = excluded.updated_at,
                run_id = excluded.run_id, lease_owner = NULL, lease_expires_at = NULL
            """, binds: binds)])
    }

    public func storedWatermarkRows() throws -> [WatermarkRow] { try PostgresCopyRows.watermarks(connection) }

    public func writeWatermarkRows(_ rows: [WatermarkRow]) throws {
        try transaction(rows.map { row in
            var binds = PostgresBindings()
            binds.text(row.syncKey)
            binds.text(row.console)
            binds.text(row.watermark)
            binds.text(row.updatedAt)
            binds.int(row.runId)
            return PostgresQuery(unsafeSQL: """
                INSERT INTO sync_state (sync_key, console, watermark, updated_at, run_id) VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5)
                ON CONFLICT (sync_key) DO UPDATE SET console = excluded.console, watermark = excluded.watermark,
                    updated_at = excluded.updated_at, run_id = excluded.run_id
                """, binds: binds)
        })
    }

    public func storedPaceRows() throws -> [PaceRow] { try PostgresCopyRows.paces(connection) }

    public func writePaceRows(_ rows: [PaceRow]) throws {
        try transaction(rows.map { row in
            var binds = PostgresBindings()
            binds.text(row.console)
            binds.append(row.budget)
            binds.text(row.measuredAt)
            binds.int(row.runId)
            return PostgresQuery(unsafeSQL: """
                INSERT INTO console_pace (console, budget, measured_at, run_id) VALUES ($1, $2, $3::timestamptz, $4)
                ON CONFLICT (console) DO UPDATE SET budget = excluded.budget, measured_at = excluded.measured_at, run_id = excluded.run_id
                """, binds: binds)
        })
    }
}
