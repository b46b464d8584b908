import S1Storage
import S1Common
import S1JSON
import S1Model
/// The durable queue of threat IDs to fetch (`ingest_queue`), in the same database as the
/// analyses. Writes go through the one writer's connection; each ID is marked done in the
/// transaction that stores its analysis, so a crash can never lose or double an analysis.
public final class IngestQueue {
    public typealias State = QueueState
    public typealias Selection = QueueSelection


    package let database: Database
    private let enqueueStatement: Statement
    private let doneStatement: Statement
    private let failedStatement: Statement

    public init(database: Database) throws {
        self.database = database
        enqueueStatement = try database.prepare("""
            INSERT INTO ingest_queue (threat_id, state, attempts, retryable, enqueued_at, updated_at, run_id, console)
            VALUES (?1, 'pending', 0, 1, ?2, ?2, ?3, ?4)
            ON CONFLICT (threat_id) DO UPDATE SET state = 'pending', attempts = 0, last_error = NULL, retryable = 1,
                next_attempt_at = NULL, updated_at = ?2, run_id = ?3, console = ?4
            WHERE state <> 'pending' OR run_id IS NOT ?3 OR console <> ?4
            """)
        doneStatement = try database.prepare("""
            UPDATE ingest_queue SET state = 'done', attempts = ?2, last_status = 200, last_error = NULL,
                next_attempt_at = NULL, updated_at = ?3, run_id = ?4 WHERE threat_id = ?1
            """)
        failedStatement = try database.prepare("""
            UPDATE ingest_queue SET state = ?2, attempts = ?3, last_status = ?4, last_error = ?5, retryable = ?6,
                next_attempt_at = ?7, updated_at = ?8, run_id = ?9 WHERE threat_id = ?1
            """)
    }

    /// Adds `ids` as pending for `console` (IDs already there become pending again, for that
    /// console), in one transaction, or inside the one already open (a shared batch).
    public func enqueue(_ ids: [String], console: String = ConsoleRef.defaultName, runId: Int64?) throws {
        let now = currentTimestamp()
        let add = {
            for id in ids { try self.enqueueStatement.run([.text(id), .text(now), runId.map { .integer($0) } ?? .null, .text(console)]) }
        }
        if database.isInTransaction { try add() } else { try database.immediateTransaction(add) }
    }

    /// Marks `id` done; call inside the transaction that stores its analysis.
    public func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws {
        try doneStatement.run([.text(id), .integer(Int64(attempts)), .text(now), runId.map { .integer($0) } ?? .null])
    }

    /// Records a failed ID: `not_found` for 404, else `failed` (retryable or not).
    public func markFailed(_ id: String, failure: QueueFailure, attempts: Int, nextAttemptAt: String?, runId: Int64?, at now: String) throws {
        let state: State = failure.notFound ? .notFound : .failed
        try failedStatement.run([
            .text(id), .text(state.rawValue), .integer(Int64(attempts)), failure.status.map { .integer(Int64($0)) } ?? .null,
            .text(failure.message), .integer(failure.retryable ? 1 : 0), nextAttemptAt.map { .text($0) } ?? .null,
            .text(now), runId.map { .integer($0) } ?? .null,
        ])
    }

    /// How many IDs are in each state (of `console` only, when given; any connection).
    package static func counts(_ database: Database, console: String? = nil) throws -> [(state: String, count: Int)] {
        let filter = try database.userVersion >= ConsoleNames.schemaVersion ? "?1 IS NULL OR console = ?1" : "?1 IS NULL"
        return try database.query("SELECT state, count(*) FROM ingest_queue WHERE \(filter) GROUP BY state ORDER BY state",
                                  [console.map { .text($0) } ?? .null])
            .map { ($0[0].textValue ?? "", Int($0[1].integerValue ?? 0)) }
    }

    /// The most common errors of failed IDs (of `console` only, when given).
    static func topErrors(_ database: Database, limit: Int, console: String? = nil) throws -> [(error: String, count: Int)] {
        try database.query("""
            SELECT last_error, count(*) AS n FROM ingest_queue
            WHERE state IN ('failed', 'not_found') AND last_error IS NOT NULL AND (?2 IS NULL OR \(try database.userVersion >= ConsoleNames.schemaVersion ? "console = ?2" : "0"))
            GROUP BY last_error ORDER BY n DESC, last_error LIMIT ?1
            """, [.integer(Int64(limit)), console.map { .text($0) } ?? .null]).map { ($0[0].textValue ?? "", Int($0[1].integerValue ?? 0)) }
    }


    /// A page of IDs to fetch, after `after` in ID order (keyset paging keeps memory flat).
    package static func page(_ database: Database, selection: Selection, after: String, limit: Int, now: String) throws -> [String] {
        switch selection {
        case .run(let runId):
            return try database.query("""
                SELECT threat_id FROM ingest_queue WHERE state = 'pending' AND run_id = ?1 AND threat_id > ?2
                ORDER BY threat_id LIMIT ?3
                """, [.integer(runId), .text(after), .integer(Int64(limit))]).compactMap { $0.first?.textValue }
        case .drain(let console):
            return try database.query("""
                SELECT threat_id FROM ingest_queue
                WHERE console = ?4
                  AND (state = 'pending' OR (state = 'failed' AND retryable = 1 AND (next_attempt_at IS NULL OR next_attempt_at <= ?3)))
                  AND threat_id > ?1
                ORDER BY threat_id LIMIT ?2
                """, [.text(after), .integer(Int64(limit)), .text(now), .text(console)]).compactMap { $0.first?.textValue }
        }
    }

    /// How many IDs `selection` covers now.
    package static func count(_ database: Database, selection: Selection, now: String) throws -> Int {
        switch selection {
        case .run(let runId):
            return Int(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'pending' AND run_id = ?", [.integer(runId)]).integerValue ?? 0)
        case .drain(let console):
            return Int(try database.scalar("""
                SELECT count(*) FROM ingest_queue
                WHERE console = ?2 AND (state = 'pending' OR (state = 'failed' AND retryable = 1 AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)))
                """, [.text(now), .text(console)]).integerValue ?? 0)
        }
    }
}

