import Foundation
import S1Common
import S1Model
import S1Storage

/// One store written by several consoles' runs at once (`sync --consoles`): one connection,
/// one writer, one open transaction. Each console's run gets a `view`; every call goes
/// through one lock, so the store sees one caller at a time.
///
/// Batches are shared: a view's `beginBatch` joins the open transaction (or opens it), its
/// `commitBatch` commits everything written so far, by any view, and opens the next
/// transaction at once while other views are inside theirs. A threat's rows are written by
/// one `store` call under the lock, so they still land whole. A view's `rollbackBatch` (a
/// database error) rolls back the other views' uncommitted work too: their IDs stay queued
/// and the next run fetches them again.
package final class SharedStore: @unchecked Sendable {
    private let base: any Store
    private let lock = NSLock()
    /// Views inside a batch.
    private var holders = 0
    private var isOpen = false

    package init(_ base: any Store) {
        self.base = base
    }

    /// A store for the runs of `console`.
    package func view() -> any Store { View(hub: self) }

    /// Commits what is open and makes it durable; call once, after every view is done.
    package func finish() {
        lock.withLock {
            if isOpen { try? base.commitBatch() }
            isOpen = false
            holders = 0
            base.finishWriting()
        }
    }

    package func closeAbandonedRuns() throws { try locked { try $0.closeAbandonedRuns() } }

    fileprivate func locked<T>(_ body: (any Store) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(base)
    }

    /// Runs a write that is durable on its own when one console runs alone (a run record, the
    /// queue's IDs, a watermark): the shared transaction is committed after it (and opened
    /// again for the views inside theirs), so other connections (the queue's pager) see it.
    fileprivate func durable<T>(_ body: (any Store) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let result = try body(base)
        if isOpen {
            isOpen = false
            try base.commitBatch()
            try base.beginBatch()
            isOpen = true
        }
        return result
    }

    fileprivate func begin() throws {
        try locked { base in
            if !isOpen { try base.beginBatch() }
            isOpen = true
            holders += 1
        }
    }

    fileprivate func commit() throws {
        try locked { base in
            holders = max(0, holders - 1)
            if isOpen {
                isOpen = false
                try base.commitBatch()
            }
            if holders > 0 {
                try base.beginBatch()
                isOpen = true
            }
        }
    }

    fileprivate func rollback() {
        locked { base in
            holders = max(0, holders - 1)
            if isOpen { base.rollbackBatch() }
            isOpen = false
            if holders > 0, (try? base.beginBatch()) != nil { isOpen = true }
        }
    }

    /// One console's side of the shared store.
    private final class View: Store {
        let hub: SharedStore
        private(set) var lastConflict: StoreConflict?

        init(hub: SharedStore) {
            self.hub = hub
        }

        func beginBatch() throws { try hub.begin() }
        func commitBatch() throws { try hub.commit() }
        func rollbackBatch() { hub.rollback() }

        func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
            try hub.locked { base in
                let outcome = try base.store(analysis, console: console, ingestedAt: ingestedAt)
                lastConflict = outcome == .conflict ? base.lastConflict : nil
                return outcome
            }
        }

        var rebuilding: Bool {
            get { false }
            set {}
        }

        func rowCounts() throws -> [(table: String, rows: Int)] { try hub.locked { try $0.rowCounts() } }
        /// The hub makes the data durable once every console is done.
        func finishWriting() {}

        func enqueue(_ ids: [String], console: String, runId: Int64?) throws {
            try hub.durable { try $0.enqueue(ids, console: console, runId: runId) }
        }

        func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws {
            try hub.locked { try $0.markDone(id, attempts: attempts, runId: runId, at: now) }
        }

        func markFailed(_ id: String, failure: QueueFailure, attempts: Int, nextAttemptAt: String?, runId: Int64?, at now: String) throws {
            try hub.locked { try $0.markFailed(id, failure: failure, attempts: attempts, nextAttemptAt: nextAttemptAt, runId: runId, at: now) }
        }

        func queueCount(_ selection: QueueSelection, now: String) throws -> Int { try hub.locked { try $0.queueCount(selection, now: now) } }

        func queuePages(_ selection: QueueSelection, now: String) throws -> any QueuePager {
            // The pager reads through a connection of its own: it sees what is committed.
            try hub.durable { try $0.queuePages(selection, now: now) }
        }

        func startRun(command: String, source: String, console: ConsoleRef?) throws -> Int64 {
            try hub.durable { try $0.startRun(command: command, source: source, console: console) }
        }

        func updateRun(_ runId: Int64, counts: RunCounts) throws { try hub.locked { try $0.updateRun(runId, counts: counts) } }

        func setRunMessage(_ runId: Int64, message: String) throws { try hub.locked { try $0.setRunMessage(runId, message: message) } }

        func finishRun(_ runId: Int64, status: RunStatus, counts: RunCounts, message: String?) throws {
            try hub.durable { try $0.finishRun(runId, status: status, counts: counts, message: message) }
        }

        func recordPacing(_ runId: Int64, console: String, pacing: RunPacing) throws {
            try hub.durable { try $0.recordPacing(runId, console: console, pacing: pacing) }
        }

        /// Done once by the hub before any console starts: a view must not close its neighbours' runs.
        func closeAbandonedRuns() throws {}

        func leaveFailureNote(runId: Int64, message: String) { hub.locked { $0.leaveFailureNote(runId: runId, message: message) } }

        func watermark(key: String) throws -> String? { try hub.locked { try $0.watermark(key: key) } }

        func advanceWatermark(key: String, console: String, to watermark: String, runId: Int64?) throws -> Bool {
            try hub.durable { try $0.advanceWatermark(key: key, console: console, to: watermark, runId: runId) }
        }

        func storedUpdatedAt(threatId: String) throws -> String? { try hub.locked { try $0.storedUpdatedAt(threatId: threatId) } }

        func fetchState(threatId: String) throws -> ThreatFetchState? { try hub.locked { try $0.fetchState(threatId: threatId) } }

        func rawBodyCount() throws -> Int { try hub.locked { try $0.rawBodyCount() } }

        func rawBodies(after position: Int64, limit: Int) throws -> [RawBody] { try hub.locked { try $0.rawBodies(after: position, limit: limit) } }

        func rawBody(threatId: String) throws -> RawBody? { try hub.locked { try $0.rawBody(threatId: threatId) } }

        func keepRawMetadata(threatId: String, source: String?, ingestedAt: String) throws {
            try hub.locked { try $0.keepRawMetadata(threatId: threatId, source: source, ingestedAt: ingestedAt) }
        }

        func recentRuns(limit: Int, console: String?) throws -> [RunRecord] { try hub.locked { try $0.recentRuns(limit: limit, console: console) } }

        func runPacing(_ runIds: [Int64]) -> [Int64: RunPacing] { hub.locked { $0.runPacing(runIds) } }

        func learnedPace(console: String) -> Double? { hub.locked { $0.learnedPace(console: console) } }

        func queueCounts(console: String?) throws -> [(state: String, count: Int)] { try hub.locked { try $0.queueCounts(console: console) } }

        func queueTopErrors(limit: Int, console: String?) throws -> [(error: String, count: Int)] {
            try hub.locked { try $0.queueTopErrors(limit: limit, console: console) }
        }

        func watermarks() throws -> [(key: String, console: String, watermark: String, updatedAt: String)] { try hub.locked { try $0.watermarks() } }

        func consoles() throws -> [ConsoleRecord] { try hub.locked { try $0.consoles() } }

        func lastSuccess(command: String, console: String) -> String? { hub.locked { $0.lastSuccess(command: command, console: console) } }

        func registerConsole(name: String?, url: String?) throws -> ConsoleRef {
            try hub.durable { try $0.registerConsole(name: name, url: url) }
        }
    }
}
