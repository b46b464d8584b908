import S1Common
import S1Storage

/// The one batch writer of every pipeline (import, ingest, sync, rebuild): what the caller
/// writes (analyses, queue marks, run counts) goes into transactions of at most `batchSize`
/// items or `commitInterval`, so commits stay few while progress stays durable. A threat's
/// rows are written by one `store` call, never split across batches; after any error the
/// caller calls `abandon()` and the open batch rolls back.
final class BatchWriter {
    let store: any Store
    let batchSize: Int
    let commitInterval: Duration
    /// Runs inside each batch that holds items, just before it commits (e.g. the run record's
    /// counts, so a killed run's record shows what it committed).
    var beforeCommit: (() throws -> Void)?
    private let clock = ContinuousClock()
    private var inBatch = 0
    private var batchStarted: ContinuousClock.Instant
    private var isOpen = false

    init(store: any Store, batchSize: Int, commitInterval: Duration) {
        self.store = store
        self.batchSize = max(1, batchSize)
        self.commitInterval = commitInterval
        batchStarted = clock.now
    }

    /// Opens the first batch.
    func begin() throws {
        try store.beginBatch()
        isOpen = true
        batchStarted = clock.now
    }

    /// How many more items the open batch takes.
    var room: Int { max(1, batchSize - inBatch) }

    /// Counts one item written into the open batch.
    func added() { inBatch += 1 }

    /// True when the open batch is full, or holds items and is older than `commitInterval`.
    func isDue(now: ContinuousClock.Instant) -> Bool {
        inBatch >= batchSize || (inBatch > 0 && now - batchStarted >= commitInterval)
    }

    /// Commits the open batch when it is due, and opens the next (the store may still be
    /// committing when this returns: see `AnalysisWriter.rotateBatch`).
    func commitIfDue(now: ContinuousClock.Instant) throws {
        guard isDue(now: now) else { return }
        if inBatch > 0 { try beforeCommit?() }
        try store.rotateBatch()
        inBatch = 0
        batchStarted = clock.now
    }

    /// Commits the open batch (also an empty one) and opens none; returns once it is committed.
    func commit() throws {
        if inBatch > 0 { try beforeCommit?() }
        try store.commitBatch()
        isOpen = false
        inBatch = 0
    }

    /// Rolls the open batch back, if there is one.
    func abandon() {
        guard isOpen else { return }
        store.rollbackBatch()
        isOpen = false
        inBatch = 0
    }
}
