import Foundation
import NIOCore
import PostgresNIO
import S1Common
import S1JSON
import S1Model
import S1Storage

/// A PostgreSQL database as a store: `--db postgresql://user@host:port/dbname?sslmode=...`.
/// Several processes may write to it at once (one queue, many workers).
public struct PostgresStoreProvider: StoreProvider {
    /// The parsed URL, or why it is not usable (thrown by every method, so `--db` picks this
    /// backend by its scheme and a bad URL is reported like any failure to open).
    public let parsed: Result<PostgresLocation, PostgresStoreError>
    /// Where warnings go (a password file others can read).
    public let warn: PostgresPassword.Warn
    /// The environment the password is looked up in (PGPASSWORD, PGPASSFILE, HOME); nil: the process's.
    public var environment: [String: String]?

    public init(url text: String, warn: @escaping PostgresPassword.Warn = PostgresPassword.standardErrorWarning) {
        do {
            parsed = .success(try PostgresLocation(url: text))
        } catch {
            parsed = .failure(error)
        }
        self.warn = warn
    }

    public init(location: PostgresLocation, warn: @escaping PostgresPassword.Warn = PostgresPassword.standardErrorWarning) {
        parsed = .success(location)
        self.warn = warn
    }

    public var location: String {
        switch parsed {
        case .success(let url): return url.shown
        case .failure(.invalidURL(let shown, _)), .failure(.passwordInURL(let shown)): return shown.isEmpty ? "postgresql://..." : shown
        case .failure: return "postgresql://..."
        }
    }

    func connect() throws -> PGConnection {
        try PGConnection.open(parsed.get(), environment: environment ?? ProcessInfo.processInfo.environment, warn: warn)
    }

    public func openForWriting() throws -> any Store {
        let connection = try connect()
        try PostgresMigrator.migrate(connection)
        return try PostgresStore(connection: connection)
    }

    public func openForReading() throws -> any StoreRecords {
        let connection = try connect()
        try Self.requireSchema(connection)
        return PostgresRecords(connection: connection)
    }

    public func openReader() throws -> any StoreReader {
        try PostgresReader(connection: connect())
    }

    public func migrate() throws -> MigrationReport {
        let connection = try connect()
        defer { connection.close() }
        return try PostgresMigrator.migrate(connection)
    }

    public func prune(olderThan cutoff: String, rawOnly: Bool, dryRun: Bool, console: String?) throws -> PruneReport {
        let connection = try connect()
        defer { connection.close() }
        try Self.requireSchema(connection)
        return try PostgresPruner.prune(connection, olderThan: cutoff, rawOnly: rawOnly, dryRun: dryRun, console: console)
    }

    /// Throws unless the database was migrated (and not by a newer s1ingest).
    static func requireSchema(_ connection: PGConnection) throws {
        let version = try PostgresMigrator.currentVersion(connection)
        if version == 0 { throw PostgresStoreError.notMigrated(location: connection.location.shown) }
        if version > PostgresMigrator.latestVersion {
            throw PostgresStoreError.databaseNewer(location: connection.location.shown, version: version, supported: PostgresMigrator.latestVersion)
        }
    }
}

/// Reads what runs, the queue and syncs recorded.
protocol PostgresRecordReading: StoreRecords {
    var connection: PGConnection { get }
}

extension PostgresRecordReading {
    public func recentRuns(limit: Int, console: String?) throws -> [RunRecord] {
        var binds = PostgresBindings()
        binds.append(limit)
        binds.text(console)
        return try connection.query("""
            SELECT run_id, command, source, console, \(isoText("started_at")), \(isoText("ended_at")), status, requested, stored,
                   unchanged, not_found, failed, invalid_ids, retries, requests, message, version, console_url, conflicts
            FROM ingest_runs WHERE $2::text IS NULL OR console = $2 ORDER BY run_id DESC LIMIT $1
            """, binds).map { row in
            var counts = RunCounts()
            counts.requested = try row[7].decode(Int.self)
            counts.stored = try row[8].decode(Int.self)
            counts.unchanged = try row[9].decode(Int.self)
            counts.notFound = try row[10].decode(Int.self)
            counts.failed = try row[11].decode(Int.self)
            counts.invalidIds = try row[12].decode(Int.self)
            counts.retries = try row[13].decode(Int.self)
            counts.requests = try row[14].decode(Int.self)
            counts.conflicts = try row[18].decode(Int.self)
            var record = RunRecord(runId: try row[0].decode(Int64.self), command: try row[1].decode(String.self), source: try row[2].decode(String.self),
                                   console: try row[3].decode(String?.self), startedAt: try row[4].decode(String?.self) ?? "",
                                   endedAt: try row[5].decode(String?.self), status: RunStatus(rawValue: try row[6].decode(String.self)) ?? .failed,
                                   counts: counts, message: try row[15].decode(String?.self), version: try row[16].decode(String.self))
            record.consoleURL = try row[17].decode(String?.self)
            return record
        }
    }

    public func runPacing(_ runIds: [Int64]) -> [Int64: RunPacing] {
        guard !runIds.isEmpty else { return [:] }
        var binds = PostgresBindings()
        binds.append(runIds)
        guard let rows = try? connection.query("SELECT run_id, pace, budget, rate_limited FROM ingest_runs WHERE run_id = ANY($1)", binds)
        else { return [:] }
        var result: [Int64: RunPacing] = [:]
        for row in rows {
            guard let runId = try? row[0].decode(Int64.self) else { continue }
            result[runId] = RunPacing(pace: try? row[1].decode(Double?.self), budget: try? row[2].decode(Double?.self),
                                      rateLimited: (try? row[3].decode(Int.self)) ?? 0)
        }
        return result
    }

    public func learnedPace(console: String) -> Double? {
        var binds = PostgresBindings()
        binds.text(console)
        guard let budget = try? connection.scalar("SELECT budget FROM console_pace WHERE console = $1", binds, as: Double.self),
              budget.isFinite, budget > 0 else { return nil }
        return budget
    }

    public func queueCounts(console: String?) throws -> [(state: String, count: Int)] {
        var binds = PostgresBindings()
        binds.text(console)
        return try connection.query("SELECT state, count(*) FROM ingest_queue WHERE $1::text IS NULL OR console = $1 GROUP BY state ORDER BY state", binds).map {
            (try $0[0].decode(String.self), try $0[1].decode(Int.self))
        }
    }

    public func queueTopErrors(limit: Int, console: String?) throws -> [(error: String, count: Int)] {
        var binds = PostgresBindings()
        binds.append(limit)
        binds.text(console)
        return try connection.query("""
            SELECT last_error, count(*) AS n FROM ingest_queue
            WHERE state IN ('failed', 'not_found') AND last_error IS NOT NULL AND ($2::text IS NULL OR console = $2)
            GROUP BY last_error ORDER BY n DESC, last_error LIMIT $1
            """, binds).map { (try $0[0].decode(String.self), try $0[1].decode(Int.self)) }
    }

    public func watermarks() throws -> [(key: String, console: String, watermark: String, updatedAt: String)] {
        try connection.query("""
            SELECT sync_key, console, \(isoText("watermark")), \(isoText("updated_at")) FROM sync_state ORDER BY console, sync_key
            """).map {
            (try $0[0].decode(String.self), try $0[1].decode(String.self), try $0[2].decode(String.self), try $0[3].decode(String.self))
        }
    }

    public func consoles() throws -> [ConsoleRecord] {
        try connection.query("""
            SELECT console, url, \(isoText("first_seen_at")), \(isoText("last_seen_at")) FROM consoles ORDER BY console
            """).map {
            ConsoleRecord(name: try $0[0].decode(String.self), url: try $0[1].decode(String?.self), firstSeenAt: try $0[2].decode(String.self),
                          lastSeenAt: try $0[3].decode(String.self))
        }
    }

    public func lastSuccess(command: String, console: String) -> String? {
        var binds = PostgresBindings()
        binds.text(command)
        binds.text(console)
        return try? connection.scalar("""
            SELECT \(isoText("max(ended_at)")) FROM ingest_runs
            WHERE command = $1 AND (coalesce(console_url, '') = $2 OR console = $2) AND status IN ('ok', 'partial')
            """, binds, as: String.self)
    }
}

/// A PostgreSQL database opened to read records.
final class PostgresRecords: PostgresRecordReading {
    let connection: PGConnection

    init(connection: PGConnection) {
        self.connection = connection
    }

    deinit { connection.close() }
}

/// A PostgreSQL database opened by one run for writing, over one connection.
public final class PostgresStore: Store, PostgresRecordReading {
    private let base: PGConnection
    private let writer: PostgresWriter

    init(connection: PGConnection) throws {
        base = connection
        writer = try PostgresWriter(connection: connection)
    }

    deinit {
        _ = try? writer.settle()
        base.close()
    }

    /// The connection, once the writer's last flush is answered (its rows go out without waiting,
    /// while the writer prepares the next). For the record readers, which cannot throw: a failed
    /// flush has aborted the transaction, so their statement fails; the writer throws the flush's
    /// own error at its next call.
    var connection: PGConnection {
        writer.land()
        return base
    }

    /// The connection, once the writer's last flush is answered; throws the flush's error.
    private func db() throws -> PGConnection {
        try writer.db()
    }

    // MARK: AnalysisWriter

    public func beginBatch() throws { try writer.beginBatch() }

    public func commitBatch() throws { try writer.commitBatch() }

    public func rotateBatch() throws { try writer.rotateBatch() }

    public func rollbackBatch() { writer.rollbackBatch() }

    public func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
        try writer.store(analysis, console: console, ingestedAt: ingestedAt)
    }

    public var lastConflict: StoreConflict? { writer.lastConflict }

    public func prepare(_ analyses: [FlattenedAnalysis]) throws { try writer.prepare(analyses) }

    public var rebuilding: Bool {
        get { writer.rebuilding }
        set { writer.rebuilding = newValue }
    }

    public func rowCounts() throws -> [(table: String, rows: Int)] { try writer.rowCounts() }

    public func finishWriting() {}

    // MARK: QueueStore

    public func enqueue(_ ids: [String], console: String, runId: Int64?) throws {
        var array = PGArrayBuilder()
        for id in ids { array.appendText(id) }
        var binds = PostgresBindings()
        binds.append(array.finish())
        binds.int(runId)
        binds.text(console)
        try db().query("""
            INSERT INTO ingest_queue (threat_id, state, attempts, retryable, enqueued_at, updated_at, run_id, console)
            SELECT DISTINCT id, 'pending', 0, true, now(), now(), $2::bigint, $3 FROM unnest($1::text[]) AS id
            ON CONFLICT (threat_id) DO UPDATE SET state = 'pending', attempts = 0, last_error = NULL, retryable = true,
                next_attempt_at = NULL, updated_at = now(), run_id = $2::bigint, console = $3, lease_owner = NULL, lease_expires_at = NULL
            WHERE ingest_queue.state <> 'pending' OR ingest_queue.run_id IS DISTINCT FROM $2::bigint OR ingest_queue.console <> $3
            """, binds)
    }

    /// Goes out with the writer's next flush, in the open batch (no round trip of its own).
    public func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws {
        try writer.markDone(id, attempts: attempts, runId: runId, at: now)
    }

    public func markFailed(_ id: String, failure: QueueFailure, attempts: Int, nextAttemptAt: String?, runId: Int64?, at now: String) throws {
        var binds = PostgresBindings()
        binds.text(id)
        binds.text(failure.notFound ? QueueState.notFound.rawValue : QueueState.failed.rawValue)
        binds.append(attempts)
        binds.int(failure.status.map(Int64.init))
        binds.text(failure.message)
        binds.append(failure.retryable)
        binds.text(nextAttemptAt)
        binds.text(now)
        binds.int(runId)
        try db().query("""
            UPDATE ingest_queue SET state = $2, attempts = $3, last_status = $4, last_error = $5, retryable = $6,
                next_attempt_at = $7::timestamptz, updated_at = $8::timestamptz, run_id = $9, lease_owner = NULL, lease_expires_at = NULL
            WHERE threat_id = $1
            """, binds)
    }

    public func queueCount(_ selection: QueueSelection, now: String) throws -> Int {
        var binds = PostgresBindings()
        switch selection {
        case .run(let runId):
            binds.append(runId)
            return try db().scalar("SELECT count(*) FROM ingest_queue WHERE state = 'pending' AND run_id = $1", binds, as: Int.self) ?? 0
        case .drain(let console):
            binds.text(now)
            binds.text(console)
            return try db().scalar("""
                SELECT count(*) FROM ingest_queue
                WHERE console = $2
                  AND (state = 'pending' OR (state = 'failed' AND retryable AND (next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz)))
                """, binds, as: Int.self) ?? 0
        }
    }

    public func queuePages(_ selection: QueueSelection, now: String) throws -> any QueuePager {
        PostgresQueuePager(location: connection.location, environment: connection.environment, selection: selection, now: now)
    }

    // MARK: RunLog

    public func startRun(command: String, source: String, console: ConsoleRef?) throws -> Int64 {
        var binds = PostgresBindings()
        binds.text(command)
        binds.text(source)
        binds.text(console?.url)
        binds.text(S1IngestVersion.current)
        binds.text(console?.name)
        let runId = try db().scalar("""
            INSERT INTO ingest_runs (command, source, console_url, started_at, status, version, console)
            VALUES ($1, $2, $3, now(), 'running', $4, $5) RETURNING run_id
            """, binds, as: Int64.self) ?? 0
        // Held while this process lives: closeAbandonedRuns leaves a run alone while its lock is held.
        try db().query("SELECT pg_advisory_lock(\(Self.runLockClass), \(Int32(truncatingIfNeeded: runId)))")
        return runId
    }

    /// The first key of the advisory locks that mark a run's process alive.
    static let runLockClass: Int32 = 0x5331_4752

    public func updateRun(_ runId: Int64, counts: RunCounts) throws {
        var binds = PostgresBindings()
        binds.append(runId)
        for value in [counts.requested, counts.stored, counts.unchanged, counts.notFound, counts.failed, counts.invalidIds, counts.retries,
                      counts.requests, counts.conflicts] {
            binds.append(value)
        }
        try db().query("""
            UPDATE ingest_runs SET requested = $2, stored = $3, unchanged = $4, not_found = $5, failed = $6, invalid_ids = $7,
                retries = $8, requests = $9, conflicts = $10 WHERE run_id = $1
            """, binds)
    }

    public func setRunMessage(_ runId: Int64, message: String) throws {
        var binds = PostgresBindings()
        binds.append(runId)
        binds.text(message)
        try db().query("UPDATE ingest_runs SET message = $2 WHERE run_id = $1", binds)
    }

    public func finishRun(_ runId: Int64, status: RunStatus, counts: RunCounts, message: String?) throws {
        var binds = PostgresBindings()
        binds.append(runId)
        binds.text(status.rawValue)
        for value in [counts.requested, counts.stored, counts.unchanged, counts.notFound, counts.failed, counts.invalidIds, counts.retries,
                      counts.requests] {
            binds.append(value)
        }
        binds.text(message)
        binds.append(counts.conflicts)
        try db().query("""
            UPDATE ingest_runs SET ended_at = now(), status = $2, requested = $3, stored = $4, unchanged = $5, not_found = $6,
                failed = $7, invalid_ids = $8, retries = $9, requests = $10, message = $11, conflicts = $12 WHERE run_id = $1
            """, binds)
        _ = try? db().query("SELECT pg_advisory_unlock(\(Self.runLockClass), \(Int32(truncatingIfNeeded: runId)))")
    }

    public func recordPacing(_ runId: Int64, console: String, pacing: RunPacing) throws {
        var binds = PostgresBindings()
        binds.append(runId)
        binds.append(pacing.pace.flatMap { $0.isFinite ? $0 : nil })
        binds.append(pacing.budget)
        binds.append(pacing.rateLimited)
        try db().query("UPDATE ingest_runs SET pace = $2, budget = $3, rate_limited = $4 WHERE run_id = $1", binds)
        if let budget = pacing.budget, budget.isFinite, budget > 0 {
            var binds = PostgresBindings()
            binds.text(console)
            binds.append(budget)
            binds.append(runId)
            try db().query("""
                INSERT INTO console_pace (console, budget, measured_at, run_id) VALUES ($1, $2, now(), $3)
                ON CONFLICT (console) DO UPDATE SET budget = excluded.budget, measured_at = excluded.measured_at, run_id = excluded.run_id
                """, binds)
        }
    }

    /// Runs left `running` whose process no longer holds their lock (it died) become `aborted`;
    /// the runs of other live workers are left alone.
    public func closeAbandonedRuns() throws {
        try db().query("""
            UPDATE ingest_runs SET status = 'aborted', message = coalesce(message, 'the process ended without finishing (killed or crashed)')
            WHERE status = 'running' AND pg_try_advisory_xact_lock(\(Self.runLockClass), run_id::int4)
            """)
    }

    public func leaveFailureNote(runId: Int64, message: String) {}

    // MARK: SyncStateStore

    public func watermark(key: String) throws -> String? {
        var binds = PostgresBindings()
        binds.text(key)
        return try db().scalar("SELECT \(isoText("watermark")) FROM sync_state WHERE sync_key = $1", binds, as: String.self)
    }

    public func advanceWatermark(key: String, console: String, to watermark: String, runId: Int64?) throws -> Bool {
        var binds = PostgresBindings()
        binds.text(key)
        binds.text(watermark)
        binds.int(runId)
        binds.text(console)
        return try !db().query("""
            INSERT INTO sync_state (sync_key, watermark, updated_at, run_id, console) VALUES ($1, $2::timestamptz, now(), $3, $4)
            ON CONFLICT (sync_key) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at, run_id = excluded.run_id,
                console = excluded.console
            WHERE excluded.watermark > sync_state.watermark
            RETURNING 1
            """, binds).isEmpty
    }

    public func storedUpdatedAt(threatId: String) throws -> String? {
        var binds = PostgresBindings()
        binds.text(threatId)
        return try db().scalar("SELECT \(isoText("updated_at")) FROM threats WHERE threat_id = $1", binds, as: String.self)
    }

    public func fetchState(threatId: String) throws -> ThreatFetchState? {
        var binds = PostgresBindings()
        binds.text(threatId)
        guard let row = try db().query("""
            SELECT q.state, q.retryable, t.threat_id IS NOT NULL, \(isoText("t.updated_at"))
            FROM ingest_queue q LEFT JOIN threats t ON t.threat_id = q.threat_id WHERE q.threat_id = $1
            """, binds).first else { return nil }
        return ThreatFetchState(state: QueueState(rawValue: try row[0].decode(String.self)), retryable: try row[1].decode(Bool.self),
                                stored: try row[2].decode(Bool.self), storedUpdatedAt: try row[3].decode(String?.self))
    }

    // MARK: ConsoleRegistry

    public func registerConsole(name: String?, url: String?) throws -> ConsoleRef {
        try PostgresConsoleNames.register(db(), name: name, url: url, records: self)
    }

    // MARK: RawArchive

    public func rawBodyCount() throws -> Int {
        try db().scalar("SELECT count(*) FROM raw_analyses", as: Int.self) ?? 0
    }

    public func rawBodies(after position: Int64, limit: Int) throws -> [RawBody] {
        // Storage order is the threat ID's order here: positions count rows, resumable by ID.
        var binds = PostgresBindings()
        binds.append(position)
        binds.append(limit)
        return try db().query("""
            SELECT r.threat_id, r.body::text, r.source, \(isoText("r.ingested_at")), \(isoText("t.last_ingested_at")), r.position, t.console
            FROM (SELECT *, row_number() OVER (ORDER BY threat_id) AS position FROM raw_analyses) r
            JOIN threats t ON t.threat_id = r.threat_id WHERE r.position > $1 ORDER BY r.position LIMIT $2
            """, binds).map(Self.rawBody)
    }

    public func rawBody(threatId: String) throws -> RawBody? {
        var binds = PostgresBindings()
        binds.text(threatId)
        return try db().query("""
            SELECT r.threat_id, r.body::text, r.source, \(isoText("r.ingested_at")), \(isoText("t.last_ingested_at")), 0::bigint, t.console
            FROM raw_analyses r JOIN threats t ON t.threat_id = r.threat_id WHERE r.threat_id = $1
            """, binds).first.map(Self.rawBody)
    }

    public func keepRawMetadata(threatId: String, source: String?, ingestedAt: String) throws {
        writer.keepRawMetadata(threatId: threatId, source: source, ingestedAt: ingestedAt)
    }

    private static func rawBody(_ row: [PostgresCell]) throws -> RawBody {
        var body = row[1].bytes ?? ByteBuffer()
        return RawBody(threatId: try row[0].decode(String.self), body: body.readBytes(length: body.readableBytes) ?? [],
                       source: try row[2].decode(String?.self), ingestedAt: try row[3].decode(String?.self),
                       lastIngestedAt: try row[4].decode(String?.self), console: try row[6].decode(String.self), position: try row[5].decode(Int64.self))
    }
}

/// Hands out the queue to one of several workers: each page is claimed with
/// `FOR UPDATE SKIP LOCKED` and a lease (`lease_owner`, `lease_expires_at`), committed at once,
/// so workers draining one queue never get the same ID while its lease runs; marking an ID done
/// or failed ends its lease, and a killed worker's IDs return to the queue when theirs lapse.
/// Within one worker, IDs come in ID order (keyset paging), each at most once.
final class PostgresQueuePager: QueuePager, @unchecked Sendable {
    private let location: PostgresLocation
    private let environment: [String: String]
    private let selection: QueueSelection
    private let now: String
    /// Who claims: host, process and a random part.
    let owner: String
    /// How long a claim holds without the ID being marked.
    let leaseSeconds: Int
    private let lock = NSLock()
    private var connection: PGConnection?
    private var after = ""

    /// A claim lasts this long unless `S1INGEST_PG_LEASE_SECONDS` says otherwise.
    static let defaultLeaseSeconds = 900

    init(location: PostgresLocation, environment: [String: String], selection: QueueSelection, now: String,
         leaseSeconds: Int? = nil) {
        self.location = location
        self.environment = environment
        self.selection = selection
        self.now = now
        self.leaseSeconds = leaseSeconds ?? environment["S1INGEST_PG_LEASE_SECONDS"].flatMap { Int($0) } ?? Self.defaultLeaseSeconds
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        owner = "\(String(cString: host)):\(getpid()):\(UInt32.random(in: 0 ... .max))"
    }

    deinit { connection?.close() }

    func next(limit: Int) throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        if connection == nil { connection = try PGConnection.open(location, environment: environment) }
        var binds = PostgresBindings()
        binds.text(after)
        binds.append(limit)
        binds.text(owner)
        binds.append(leaseSeconds)
        let filter: String
        switch selection {
        case .run(let runId):
            binds.append(runId)
            filter = "state = 'pending' AND run_id = $5"
        case .drain(let console):
            binds.text(now)
            binds.text(console)
            filter = "console = $6 AND (state = 'pending' OR (state = 'failed' AND retryable AND (next_attempt_at IS NULL OR next_attempt_at <= $5::timestamptz)))"
        }
        let rows = try connection!.query("""
            WITH claimed AS (
                SELECT threat_id FROM ingest_queue
                WHERE \(filter) AND threat_id > $1 AND (lease_expires_at IS NULL OR lease_expires_at < now())
                ORDER BY threat_id LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE ingest_queue q SET lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4)
            FROM claimed c WHERE q.threat_id = c.threat_id
            RETURNING q.threat_id
            """, binds)
        let page = try rows.map { try $0[0].decode(String.self) }.sorted()
        if let last = page.last { after = last }
        return page
    }

    func releaseClaims() {
        lock.lock()
        defer { lock.unlock() }
        guard let connection else { return }
        var binds = PostgresBindings()
        binds.text(owner)
        // (Rows the writer is marking right now are locked by its transaction: skipped, its
        // mark ends their lease anyway; waiting for them could wait on this process itself.)
        _ = try? connection.query("""
            UPDATE ingest_queue SET lease_owner = NULL, lease_expires_at = NULL
            WHERE threat_id IN (SELECT threat_id FROM ingest_queue WHERE lease_owner = $1 FOR UPDATE SKIP LOCKED)
            """, binds)
    }
}

/// `s1ingest prune` on PostgreSQL: the same deletions as SQLite's, in one transaction.
enum PostgresPruner {
    static func prune(_ connection: PGConnection, olderThan cutoff: String, rawOnly: Bool, dryRun: Bool, console: String?) throws -> PruneReport {
        var report = PruneReport(cutoff: cutoff, rawOnly: rawOnly, dryRun: dryRun, deleted: [])
        var binds = PostgresBindings()
        binds.text(cutoff)
        binds.text(console)
        try connection.query("BEGIN")
        do {
            if rawOnly {
                let filter = "ingested_at < $1::timestamptz AND ($2::text IS NULL OR threat_id IN (SELECT threat_id FROM threats WHERE console = $2))"
                let count = try connection.scalar("SELECT count(*) FROM raw_analyses WHERE \(filter)", binds, as: Int.self) ?? 0
                if !dryRun { try connection.query("DELETE FROM raw_analyses WHERE \(filter)", binds) }
                report.deleted.append(("raw_analyses", count))
            } else {
                try connection.query("""
                    CREATE TEMP TABLE prune_threats ON COMMIT DROP AS
                    SELECT threat_id FROM threats WHERE last_ingested_at < $1::timestamptz AND ($2::text IS NULL OR console = $2)
                    """, binds)
                for table in Table.threatChildren.map(\.name) + ["raw_analyses", "ingest_queue", "threats"] {
                    try delete(connection, table: table, key: "threat_id", keys: "prune_threats", dryRun: dryRun, into: &report)
                }
                var consoleBinds = PostgresBindings()
                consoleBinds.text(console)
                try connection.query("""
                    CREATE TEMP TABLE prune_agents ON COMMIT DROP AS SELECT a.agent_id FROM agents a WHERE ($1::text IS NULL OR a.console = $1)
                    AND NOT EXISTS (SELECT 1 FROM threats t WHERE t.agent_id = a.agent_id AND t.threat_id NOT IN (SELECT threat_id FROM prune_threats))
                    """, consoleBinds)
                for table in Table.agentChildren.map(\.name) + [Table.agents.name] {
                    try delete(connection, table: table, key: "agent_id", keys: "prune_agents", dryRun: dryRun, into: &report)
                }
            }
            try connection.query(dryRun ? "ROLLBACK" : "COMMIT")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        return report
    }

    private static func delete(_ connection: PGConnection, table: String, key: String, keys: String, dryRun: Bool, into report: inout PruneReport) throws {
        let filter = "\(key) IN (SELECT \(key) FROM \(keys))"
        let count = try connection.scalar("SELECT count(*) FROM \(table) WHERE \(filter)", as: Int.self) ?? 0
        if !dryRun { try connection.query("DELETE FROM \(table) WHERE \(filter)") }
        report.deleted.append((table, count))
    }
}
