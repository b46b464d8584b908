import S1Common
import S1Model

/// Where a store is (`--db`) and how to open it. Each backend target provides one (S1SQLite:
/// a file path); the pipelines open their store through it, once per run, and never see the
/// backend's types or SQL.
public protocol StoreProvider: Sendable {
    /// The `--db` value as it may be shown: a path, or a URL without its password.
    var location: String { get }

    /// Opens for writing: created and brought to the newest schema when needed, and held as
    /// the one writer (another writer is refused at once, see `RunLockError`).
    func openForWriting() throws -> any Store

    /// Opens an existing store to read what runs, the queue and syncs recorded; nothing done
    /// through it changes anything.
    func openForReading() throws -> any StoreRecords

    /// Opens an existing store for `query`, `export` and `report`, read-only.
    func openReader() throws -> any StoreReader

    /// `s1ingest migrate`: creates the store or brings it to the newest schema.
    func migrate() throws -> MigrationReport

    /// `s1ingest prune`: removes what was last ingested before `cutoff` (whole threats with
    /// their rows, or only raw bodies), or counts what would go (`dryRun`).
    /// With `console` (a name, `consoles.console`) only that console's threats (and raw
    /// bodies) are candidates, and only its agents are removed when left with no threat;
    /// nil: every console.
    func prune(olderThan cutoff: String, rawOnly: Bool, dryRun: Bool, console: String?) throws -> PruneReport

    /// Opens what several processes on this store coordinate through (``WorkerCoordinator``);
    /// nil when the store has one writer at a time (SQLite, the default).
    func openCoordinator() throws -> (any WorkerCoordinator)?
}

extension StoreProvider {
    /// `prune(olderThan:rawOnly:dryRun:console:)` over every console.
    public func prune(olderThan cutoff: String, rawOnly: Bool, dryRun: Bool) throws -> PruneReport {
        try prune(olderThan: cutoff, rawOnly: rawOnly, dryRun: dryRun, console: nil)
    }
}

/// A store opened for writing by one run: the writer, the queue, the run records, the sync
/// watermarks and the raw archive, over one connection. Used from one task at a time.
public protocol Store: AnalysisWriter, QueueStore, RunLog, SyncStateStore, RawArchive, StoreRecords, ConsoleRegistry {}

/// Stores flattened analyses in batches. A threat's rows are never split across batches,
/// and an error rolls the whole batch back, so each threat lands whole or not at all.
public protocol AnalysisWriter: AnyObject {
    /// Starts a batch; a competing writer is noticed now, not mid-batch.
    func beginBatch() throws
    /// Commits the batch (and keeps the store's own logs bounded).
    func commitBatch() throws
    /// Commits the batch and starts the next. A store may return before the commit is
    /// answered (PostgreSQL pipelines it behind the batch's last rows); its failure is then
    /// thrown by the next call, before anything of the next batch commits.
    func rotateBatch() throws
    /// Abandons the batch.
    func rollbackBatch()
    /// Stores one analysis read from `console` (a name, see `ConsoleRegistry`) inside the open
    /// batch: `inserted`, `updated` (children replaced), `unchanged` (the same JSON), `stale`
    /// (older than the stored `updatedAt`) or `conflict` (its threat or agent is stored for
    /// another console: nothing written, `lastConflict` says which). On error the caller rolls
    /// the batch back.
    func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome
    /// What the last `conflict` outcome collided with.
    var lastConflict: StoreConflict? { get }
    /// `rebuild`: every analysis replaces the stored rows; an agent is rewritten only by the
    /// threat that last wrote it.
    var rebuilding: Bool { get set }
    /// Rows per table, for summaries.
    func rowCounts() throws -> [(table: String, rows: Int)]
    /// Makes what was committed durable in the store's main files; call once at the end.
    func finishWriting()
    /// Says which analyses the next `store` calls will bring, so a backend over a network looks
    /// their threats and agents up in one round trip rather than one each. Optional: a hint,
    /// never required.
    func prepare(_ analyses: [FlattenedAnalysis]) throws
}

extension AnalysisWriter {
    /// SQLite looks each threat up in its own file: nothing to prepare.
    public func prepare(_ analyses: [FlattenedAnalysis]) throws {}

    /// `commitBatch()` then `beginBatch()`.
    public func rotateBatch() throws {
        try commitBatch()
        try beginBatch()
    }
}

/// The durable queue of threat IDs to fetch.
public protocol QueueStore: AnyObject {
    /// Adds `ids` as pending for `console` (IDs already there become pending again, for that
    /// console), in one transaction (or inside the open batch).
    func enqueue(_ ids: [String], console: String, runId: Int64?) throws
    /// Marks `id` done; call inside the batch that stores its analysis.
    func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws
    /// Records a failed ID: `not_found`, or `failed` (retryable or not).
    func markFailed(_ id: String, failure: QueueFailure, attempts: Int, nextAttemptAt: String?, runId: Int64?, at now: String) throws
    /// How many IDs `selection` covers now.
    func queueCount(_ selection: QueueSelection, now: String) throws -> Int
    /// Hands out the IDs of `selection` page by page, from another task than the writer's.
    func queuePages(_ selection: QueueSelection, now: String) throws -> any QueuePager
}

/// Pages of IDs to fetch, in ID order (keyset paging keeps memory flat).
public protocol QueuePager: Sendable {
    /// The next page of at most `limit` IDs; empty at the end.
    func next(limit: Int) throws -> [String]
    /// Gives back what this pager handed out and was neither marked done nor failed (a run
    /// that stopped or failed): other workers may take it at once. A no-op where a page
    /// claims nothing (SQLite: one writer at a time).
    func releaseClaims()
}

extension QueuePager {
    public func releaseClaims() {}
}

/// The run records (`ingest_runs`) and what the runs learned (`console_pace`).
public protocol RunLog: AnyObject {
    /// Opens a run record (status `running`) and returns its ID; `console` is the console the
    /// run reads (its name and URL), nil for runs that read files.
    func startRun(command: String, source: String, console: ConsoleRef?) throws -> Int64
    /// A running run's counts so far; call inside the batch that commits them.
    func updateRun(_ runId: Int64, counts: RunCounts) throws
    /// A running run's message (e.g. how far it got).
    func setRunMessage(_ runId: Int64, message: String) throws
    /// Closes a run record.
    func finishRun(_ runId: Int64, status: RunStatus, counts: RunCounts, message: String?) throws
    /// How the run paced itself; a measured budget is remembered for `console`.
    func recordPacing(_ runId: Int64, console: String, pacing: RunPacing) throws
    /// Marks runs left `running` by a process that died as `aborted` (the writer only).
    func closeAbandonedRuns() throws
    /// Keeps a run's failure outside the store when the store cannot take it (a full disk):
    /// the next writer records it.
    func leaveFailureNote(runId: Int64, message: String)
}

/// What runs, the queue and syncs recorded, for `runs`, `queue`, `check` and metrics.
public protocol StoreRecords: AnyObject {
    /// The newest runs first (of `console` only, when given).
    func recentRuns(limit: Int, console: String?) throws -> [RunRecord]
    /// How the runs `runIds` paced themselves; empty when the store predates pacing records.
    func runPacing(_ runIds: [Int64]) -> [Int64: RunPacing]
    /// The budget (requests per second) last measured for `console`.
    func learnedPace(console: String) -> Double?
    /// IDs per queue state (of `console` only, when given).
    func queueCounts(console: String?) throws -> [(state: String, count: Int)]
    /// The most common errors of failed IDs (of `console` only, when given).
    func queueTopErrors(limit: Int, console: String?) throws -> [(error: String, count: Int)]
    /// Every stored watermark, by key, with its console.
    func watermarks() throws -> [(key: String, console: String, watermark: String, updatedAt: String)]
    /// The consoles the store holds data from, by name.
    func consoles() throws -> [ConsoleRecord]
    /// When the newest `ok` or `partial` run of `command` for `console` ended.
    func lastSuccess(command: String, console: String) -> String?
}

/// Where each sync is (`sync_state`), and what it needs to know of stored threats.
public protocol SyncStateStore: AnyObject {
    /// The stored watermark for `key`; nil before the first sync.
    func watermark(key: String) throws -> String?
    /// Moves the watermark for `key` (of `console`) forward to `watermark` (never back); true
    /// when it moved.
    func advanceWatermark(key: String, console: String, to watermark: String, runId: Int64?) throws -> Bool
    /// The stored `updated_at` of a threat; nil when it is not stored.
    func storedUpdatedAt(threatId: String) throws -> String?
    /// A threat's queue entry and stored version, for the watermark; nil when not queued.
    func fetchState(threatId: String) throws -> ThreatFetchState?
}

/// A queued threat as the watermark sees it.
public struct ThreatFetchState: Sendable, Equatable {
    public var state: QueueState?
    public var retryable: Bool
    /// The stored threat's `updated_at`; nil when no threat row is stored.
    public var stored: Bool
    public var storedUpdatedAt: String?

    public init(state: QueueState?, retryable: Bool, stored: Bool, storedUpdatedAt: String?) {
        self.state = state
        self.retryable = retryable
        self.stored = stored
        self.storedUpdatedAt = storedUpdatedAt
    }
}

/// The raw bodies kept as received, for `rebuild`.
public protocol RawArchive: AnyObject {
    /// How many raw bodies are stored.
    func rawBodyCount() throws -> Int
    /// Raw bodies after `position` in storage order, at most `limit`.
    func rawBodies(after position: Int64, limit: Int) throws -> [RawBody]
    /// The raw body of one threat.
    func rawBody(threatId: String) throws -> RawBody?
    /// Puts back a raw body's source and time after it was stored again.
    func keepRawMetadata(threatId: String, source: String?, ingestedAt: String) throws
}

/// One stored raw body.
public struct RawBody: Sendable {
    public var threatId: String
    public var body: [UInt8]
    public var source: String?
    public var ingestedAt: String?
    /// The threat's `last_ingested_at`.
    public var lastIngestedAt: String?
    /// The console the threat is stored for.
    public var console: String
    /// Where it is in storage order (resume point).
    public var position: Int64

    public init(threatId: String, body: [UInt8], source: String?, ingestedAt: String?, lastIngestedAt: String?, console: String = ConsoleRef.defaultName,
                position: Int64) {
        self.console = console
        self.threatId = threatId
        self.body = body
        self.source = source
        self.ingestedAt = ingestedAt
        self.lastIngestedAt = lastIngestedAt
        self.position = position
    }
}
