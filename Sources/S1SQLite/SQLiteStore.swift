import S1Common
import S1JSON
import S1Model
import S1Storage

/// A SQLite file as a store: `--db PATH`.
public struct SQLiteStoreProvider: StoreProvider {
    /// The file (or `:memory:`).
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var location: String { path }

    public func openForWriting() throws -> any Store {
        try SQLiteStore(database: StoreOpener.openForWriting(path: path))
    }

    public func openForReading() throws -> any StoreRecords {
        SQLiteRecords(database: try StoreOpener.openForReading(path: path))
    }

    public func openReader() throws -> any StoreReader {
        try ReadOnlyDatabase(path: path)
    }

    public func migrate() throws -> MigrationReport {
        try StoreOpener.migrate(path: path)
    }

    public func prune(olderThan cutoff: String, rawOnly: Bool, dryRun: Bool, console: String?) throws -> PruneReport {
        if path != ":memory:", !path.hasPrefix("file:"), !FileManager.default.fileExists(atPath: path) { throw StoreError.noDatabase(path: path) }
        // A dry run reads only: it never waits for, or blocks, a running writer.
        let database = dryRun ? try StoreOpener.openForReading(path: path) : try StoreOpener.openForWriting(path: path)
        return try Pruner.prune(database, olderThan: cutoff, rawOnly: rawOnly, dryRun: dryRun, console: console)
    }
}

/// Reads what runs, the queue and syncs recorded, over any connection.
protocol SQLiteRecordReading: StoreRecords {
    var database: Database { get }
}

extension SQLiteRecordReading {
    public func recentRuns(limit: Int, console: String?) throws -> [RunRecord] { try RunRecords.recent(database, limit: limit, console: console) }

    public func runPacing(_ runIds: [Int64]) -> [Int64: RunPacing] { RunRecords.pacing(database, runIds: runIds) }

    public func learnedPace(console: String) -> Double? { ConsolePace.learned(database, console: console) }

    public func queueCounts(console: String?) throws -> [(state: String, count: Int)] { try IngestQueue.counts(database, console: console) }

    public func queueTopErrors(limit: Int, console: String?) throws -> [(error: String, count: Int)] {
        try IngestQueue.topErrors(database, limit: limit, console: console)
    }

    public func watermarks() throws -> [(key: String, console: String, watermark: String, updatedAt: String)] { try SyncState.all(database) }

    public func consoles() throws -> [ConsoleRecord] { try ConsoleNames.all(database) }

    public func lastSuccess(command: String, console: String) -> String? {
        try? database.query("""
            SELECT max(ended_at) FROM ingest_runs WHERE command = ?1 AND (coalesce(console_url, '') = ?2 OR console = ?2) AND status IN ('ok', 'partial')
            """, [.text(command), .text(console)]).first?.first?.textValue
    }
}

/// A SQLite file opened to read records.
final class SQLiteRecords: SQLiteRecordReading {
    let database: Database

    init(database: Database) {
        self.database = database
    }
}

/// A SQLite file opened by one run for writing: one connection for everything the run
/// writes (the writer's batches, the queue, run records, watermarks), a checkpoint thread
/// that keeps the WAL bounded, and a read connection for the queue's pages.
public final class SQLiteStore: Store, SQLiteRecordReading {
    /// The writer's connection.
    public let database: Database
    private let writer: AnalysisStore
    private let queue: IngestQueue
    private let checkpointer: WALCheckpointer
    /// Statements prepared on first use, by SQL text.
    private var prepared: [String: Statement] = [:]

    /// Wraps a connection opened by `StoreOpener.openForWriting` (configured, migrated, locked).
    public init(database: Database) throws {
        self.database = database
        writer = try AnalysisStore(database: database)
        queue = try IngestQueue(database: database)
        // Checkpoints run on a thread of their own, not inside the writer's commits.
        checkpointer = try WALCheckpointer(writer: database)
    }

    deinit {
        checkpointer.stop()
    }

    /// `sql` prepared once, on first use; a failure to prepare is SQLite's own error.
    private func statement(_ sql: String) throws -> Statement {
        if let statement = prepared[sql] { return statement }
        let statement = try database.prepare(sql)
        prepared[sql] = statement
        return statement
    }

    // MARK: AnalysisWriter

    public func beginBatch() throws { try writer.beginBatch() }

    public func commitBatch() throws {
        try writer.commitBatch()
        checkpointer.commitDone()
    }

    public func rollbackBatch() { writer.rollbackBatch() }

    public func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
        try writer.store(analysis, console: console, ingestedAt: ingestedAt)
    }

    public var lastConflict: StoreConflict? { writer.lastConflict }

    public var rebuilding: Bool {
        get { writer.rebuilding }
        set { writer.rebuilding = newValue }
    }

    public func rowCounts() throws -> [(table: String, rows: Int)] { try writer.rowCounts() }

    /// The last checkpoint: the data is in the database file.
    public func finishWriting() { checkpointer.stop() }

    // MARK: QueueStore

    public func enqueue(_ ids: [String], console: String, runId: Int64?) throws { try queue.enqueue(ids, console: console, runId: runId) }

    public func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws {
        try queue.markDone(id, attempts: attempts, runId: runId, at: now)
    }

    public func markFailed(_ id: String, failure: QueueFailure, attempts: Int, nextAttemptAt: String?, runId: Int64?, at now: String) throws {
        try queue.markFailed(id, failure: failure, attempts: attempts, nextAttemptAt: nextAttemptAt, runId: runId, at: now)
    }

    public func queueCount(_ selection: QueueSelection, now: String) throws -> Int {
        try IngestQueue.count(database, selection: selection, now: now)
    }

    public func queuePages(_ selection: QueueSelection, now: String) throws -> any QueuePager {
        SQLiteQueuePager(path: database.path, selection: selection, now: now)
    }

    // MARK: RunLog

    public func startRun(command: String, source: String, console: ConsoleRef?) throws -> Int64 {
        try RunRecords.start(database, command: command, source: source, console: console)
    }

    public func updateRun(_ runId: Int64, counts: RunCounts) throws { try RunRecords.updateCounts(database, runId: runId, counts: counts) }

    public func setRunMessage(_ runId: Int64, message: String) throws { try RunRecords.setMessage(database, runId: runId, message: message) }

    public func finishRun(_ runId: Int64, status: RunStatus, counts: RunCounts, message: String?) throws {
        try RunRecords.finish(database, runId: runId, status: status, counts: counts, message: message)
    }

    public func recordPacing(_ runId: Int64, console: String, pacing: RunPacing) throws {
        try RunRecords.recordPacing(database, runId: runId, console: console, pacing: pacing)
    }

    public func closeAbandonedRuns() throws { try RunRecords.closeAbandoned(database) }

    public func leaveFailureNote(runId: Int64, message: String) {
        RunLock.leaveFailureNote(databasePath: database.path, runId: runId, message: message)
    }

    // MARK: SyncStateStore

    public func watermark(key: String) throws -> String? { try SyncState.watermark(database, key: key) }

    public func advanceWatermark(key: String, console: String, to watermark: String, runId: Int64?) throws -> Bool {
        try SyncState.advance(database, key: key, console: console, to: watermark, runId: runId)
    }

    // MARK: ConsoleRegistry

    public func registerConsole(name: String?, url: String?) throws -> ConsoleRef {
        try ConsoleNames.register(database, name: name, url: url)
    }

    public func storedUpdatedAt(threatId: String) throws -> String? {
        try statement("SELECT updated_at FROM threats WHERE threat_id = ?").rows([.text(threatId)]).first?.first?.textValue
    }

    public func fetchState(threatId: String) throws -> ThreatFetchState? {
        guard let row = try statement("""
            SELECT q.state, q.retryable, t.threat_id IS NOT NULL, t.updated_at
            FROM ingest_queue q LEFT JOIN threats t ON t.threat_id = q.threat_id WHERE q.threat_id = ?
            """).rows([.text(threatId)]).first else { return nil }
        return ThreatFetchState(state: row[0].textValue.flatMap(QueueState.init(rawValue:)), retryable: row[1].integerValue == 1,
                                stored: row[2].integerValue == 1, storedUpdatedAt: row[3].textValue)
    }

    // MARK: RawArchive

    public func rawBodyCount() throws -> Int {
        Int(try database.scalar("SELECT count(*) FROM raw_analyses").integerValue ?? 0)
    }

    public func rawBodies(after position: Int64, limit: Int) throws -> [RawBody] {
        try statement("""
            SELECT r.threat_id, r.body, r.source, r.ingested_at, t.last_ingested_at, r.rowid, t.console FROM raw_analyses r
            JOIN threats t ON t.threat_id = r.threat_id WHERE r.rowid > ?1 ORDER BY r.rowid LIMIT ?2
            """).rows([.integer(position), .integer(Int64(limit))]).compactMap(Self.rawBody)
    }

    public func rawBody(threatId: String) throws -> RawBody? {
        try statement("""
            SELECT r.threat_id, r.body, r.source, r.ingested_at, t.last_ingested_at, r.rowid, t.console FROM raw_analyses r
            JOIN threats t ON t.threat_id = r.threat_id WHERE r.threat_id = ?1
            """).rows([.text(threatId)]).first.flatMap(Self.rawBody)
    }

    public func keepRawMetadata(threatId: String, source: String?, ingestedAt: String) throws {
        try statement("UPDATE raw_analyses SET source = ?2, ingested_at = ?3 WHERE threat_id = ?1")
            .run([.text(threatId), source.map { .text($0) } ?? .null, .text(ingestedAt)])
    }

    private static func rawBody(_ row: [SQLValue]) -> RawBody? {
        guard let threatId = row[0].textValue else { return nil }
        // A NULL body is handed on empty: the caller reports it.
        return RawBody(threatId: threatId, body: row[1].textValue.map { Array($0.utf8) } ?? [], source: row[2].textValue,
                       ingestedAt: row[3].textValue, lastIngestedAt: row[4].textValue,
                       console: row[6].textValue ?? ConsoleRef.defaultName, position: row[5].integerValue ?? 0)
    }
}

/// Pages the queue through a read connection of its own, opened by the task that pages.
final class SQLiteQueuePager: QueuePager, @unchecked Sendable {
    private let path: String
    private let selection: QueueSelection
    private let now: String
    /// Used by one task at a time (the feeder), guarded anyway.
    private let lock = NSLock()
    private var reader: Database?
    private var after = ""

    init(path: String, selection: QueueSelection, now: String) {
        self.path = path
        self.selection = selection
        self.now = now
    }

    func next(limit: Int) throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        if reader == nil {
            do {
                reader = try Database(path: path, mode: .readOnly)
            } catch {
                throw SQLiteError(code: error.code, message: error.message, context: "cannot open \(path) to read the queue")
            }
        }
        let page = try IngestQueue.page(reader!, selection: selection, after: after, limit: limit, now: now)
        if let last = page.last { after = last }
        return page
    }
}

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
