import S1Storage
import S1Common
import S1JSON
import S1Model

/// Reads and writes `ingest_runs`.
public enum RunRecords {
    /// Opens a run record (status `running`) and returns its ID.
    public static func start(_ database: Database, command: String, source: String, console: ConsoleRef?) throws -> Int64 {
        try database.prepare("""
            INSERT INTO ingest_runs (command, source, console, console_url, started_at, status, version) VALUES (?, ?, ?, ?, ?, 'running', ?)
            """).run([.text(command), .text(source), console.map { .text($0.name) } ?? .null, console?.url.sqlValue ?? .null,
                     .text(currentTimestamp()), .text(S1IngestVersion.current)])
        return try database.scalar("SELECT last_insert_rowid()").integerValue ?? 0
    }

    /// Closes a run record.
    public static func finish(_ database: Database, runId: Int64, status: RunStatus, counts: RunCounts, message: String?) throws {
        try database.prepare("""
            UPDATE ingest_runs SET ended_at = ?2, status = ?3, requested = ?4, stored = ?5, unchanged = ?6, not_found = ?7,
                failed = ?8, invalid_ids = ?9, retries = ?10, requests = ?11, message = ?12, conflicts = ?13 WHERE run_id = ?1
            """).run([
                .integer(runId), .text(currentTimestamp()), .text(status.rawValue), .integer(Int64(counts.requested)),
                .integer(Int64(counts.stored)), .integer(Int64(counts.unchanged)), .integer(Int64(counts.notFound)),
                .integer(Int64(counts.failed)), .integer(Int64(counts.invalidIds)), .integer(Int64(counts.retries)),
                .integer(Int64(counts.requests)), message.sqlValue, .integer(Int64(counts.conflicts)),
            ])
    }

    /// Writes a running run's counts so far (call inside the batch that commits them, so a
    /// killed run's record shows what it committed).
    public static func updateCounts(_ database: Database, runId: Int64, counts: RunCounts) throws {
        try database.prepare("""
            UPDATE ingest_runs SET requested = ?2, stored = ?3, unchanged = ?4, not_found = ?5, failed = ?6, invalid_ids = ?7,
                retries = ?8, requests = ?9, conflicts = ?10 WHERE run_id = ?1
            """).run([
                .integer(runId), .integer(Int64(counts.requested)), .integer(Int64(counts.stored)), .integer(Int64(counts.unchanged)),
                .integer(Int64(counts.notFound)), .integer(Int64(counts.failed)), .integer(Int64(counts.invalidIds)),
                .integer(Int64(counts.retries)), .integer(Int64(counts.requests)), .integer(Int64(counts.conflicts)),
            ])
    }

    /// Sets a running run's message (e.g. how far it got).
    public static func setMessage(_ database: Database, runId: Int64, message: String) throws {
        try database.prepare("UPDATE ingest_runs SET message = ?2 WHERE run_id = ?1").run([.integer(runId), .text(message)])
    }

    /// Marks runs left `running` by a process that died as `aborted`. Call only while
    /// holding the database's writer role, when no other run can be active.
    public static func closeAbandoned(_ database: Database) throws {
        // A run whose failure the database could not take (a full disk) left it in the lock file.
        if let note = RunLock.takeFailureNote(databasePath: database.path) {
            try database.prepare("""
                UPDATE ingest_runs SET status = 'failed', ended_at = coalesce(ended_at, ?2), message = ?3
                WHERE run_id = ?1 AND status = 'running'
                """).run([.integer(note.runId), .text(currentTimestamp()),
                         .text(note.message + " (recorded by the next run: the database could not take it then)")])
        }
        try database.prepare("""
            UPDATE ingest_runs SET status = 'aborted', message = coalesce(message, 'the process ended without finishing (killed or crashed)')
            WHERE status = 'running'
            """).run()
    }

    /// The newest runs first.
    public static func recent(_ database: Database, limit: Int = 20, console: String? = nil) throws -> [RunRecord] {
        // A database from before the console dimension (read-only commands do not migrate) has the URL in `console`.
        let sql = (try? database.userVersion) ?? 0 >= ConsoleNames.schemaVersion ? """
            SELECT run_id, command, source, console, started_at, ended_at, status, requested, stored, unchanged, not_found,
                   failed, invalid_ids, retries, requests, message, version, console_url, conflicts
            FROM ingest_runs WHERE ?2 IS NULL OR console = ?2 ORDER BY run_id DESC LIMIT ?1
            """ : """
            SELECT run_id, command, source, NULL, started_at, ended_at, status, requested, stored, unchanged, not_found,
                   failed, invalid_ids, retries, requests, message, version, console, 0
            FROM ingest_runs WHERE ?2 IS NULL OR console = ?2 ORDER BY run_id DESC LIMIT ?1
            """
        return try database.query(sql, [.integer(Int64(limit)), console.sqlValue]).map { row in
            var counts = RunCounts()
            counts.requested = Int(row[7].integerValue ?? 0)
            counts.stored = Int(row[8].integerValue ?? 0)
            counts.unchanged = Int(row[9].integerValue ?? 0)
            counts.notFound = Int(row[10].integerValue ?? 0)
            counts.failed = Int(row[11].integerValue ?? 0)
            counts.invalidIds = Int(row[12].integerValue ?? 0)
            counts.retries = Int(row[13].integerValue ?? 0)
            counts.requests = Int(row[14].integerValue ?? 0)
            counts.conflicts = Int(row[18].integerValue ?? 0)
            var record = RunRecord(runId: row[0].integerValue ?? 0, command: row[1].textValue ?? "", source: row[2].textValue ?? "",
                                   console: row[3].textValue, startedAt: row[4].textValue ?? "", endedAt: row[5].textValue,
                                   status: RunStatus(rawValue: row[6].textValue ?? "") ?? .failed, counts: counts,
                                   message: row[15].textValue, version: row[16].textValue ?? "")
            record.consoleURL = row[17].textValue
            return record
        }
    }
}
