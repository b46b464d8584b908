import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Fetches threat analyses from the console and stores them: IDs are enqueued durably,
/// a bounded pool of workers fetches them (retries, pacing), and the one writer stores
/// each analysis and marks its ID done in the same transaction.
public final class Ingester {
    public let options: IngestOptions
    /// Called about twice a second, from a task of its own (also while nothing finishes).
    public var onProgress: (@Sendable (IngestProgress) -> Void)?
    /// Called for things a person should see at once (bad ID lines, IDs given up on).
    public var onWarning: ((String) -> Void)?

    /// Where the analyses go (`options.databasePath` opened by a backend).
    public let provider: any StoreProvider

    public init(options: IngestOptions, store provider: any StoreProvider) {
        self.options = options
        self.provider = provider
    }

    /// Runs to the end (or to `stop`). Throws only when the database cannot be opened or the
    /// run recorded, or the ID file or the client settings (e.g. `--ca-file`) cannot be used,
    /// the last two before the run is recorded. Console failures, and a database that fails
    /// while analyses are written, end up in the summary's status and message (and the run
    /// record, as far as the database still takes it).
    nonisolated(nonsending) public func run(stop: StopRequest = StopRequest()) async throws -> IngestSummary {
        let store = try provider.openForWriting()
        return try await run(on: store, stop: stop)
    }

    /// Runs on a store the caller opened (`sync` lists and drains over one store).
    nonisolated(nonsending) func run(on store: any Store, stop: StopRequest) async throws -> IngestSummary {
        LargeAllocations.returnToSystemWhenFreed()
        let clock = ContinuousClock()
        let started = clock.now
        var summary = IngestSummary()
        summary.consoleURL = options.endpoint.baseURL

        try store.closeAbandonedRuns()
        let selection: QueueSelection
        let sourceLabel: String
        var ids: [String] = []
        switch options.source {
        case .idFile(let path):
            let list = try ThreatIDList.read(path: path)
            sourceLabel = path == "-" ? "stdin" : path
            for line in list.invalid { onWarning?("\(sourceLabel):\(line.line): skipped '\(line.text)': \(line.reason)") }
            summary.invalidLines = list.invalid
            summary.duplicateIds = list.duplicates
            summary.counts.invalidIds = list.invalid.count
            ids = list.ids
        case .ids(let given, let label):
            sourceLabel = label
            ids = given
        case .queue:
            sourceLabel = options.queueLabel
        }
        // A client that cannot be made (bad --ca-file) fails before anything is recorded.
        let client = try ConsoleClient(endpoint: options.endpoint, settings: options.client)
        let runId: Int64
        let total: Int
        let console: ConsoleRef
        do {
            var registered = try store.registerConsole(name: options.consoleName,
                                                       url: options.consoleURLIsStable ? options.endpoint.baseURL : nil)
            // The run record keeps the URL it read, also when the console's row does not.
            registered.url = options.endpoint.baseURL
            console = registered
            runId = try store.startRun(command: options.command, source: sourceLabel, console: console)
            if case .queue = options.source {
                selection = .drain(console: console.name)
            } else {
                try store.enqueue(ids, console: console.name, runId: runId)
                selection = .run(runId)
            }
            total = try store.queueCount(selection, now: currentTimestamp())
        } catch {
            await client.shutdown()
            throw error
        }
        summary.runId = runId
        summary.console = console
        summary.counts.requested = total

        // Several workers on one database share the console's rate budget (a sync brings its
        // own throttle, shared already).
        let throttle: RequestThrottle
        var share: WorkerShare?
        if let given = options.throttle {
            throttle = given
        } else {
            let warning: String?
            (throttle, share, warning) = await WorkerShare.pacer(provider, console: console.name, maxRate: options.maxRequestsPerSecond,
                                                                 learned: store.learnedPace(console: options.endpoint.baseURL), stop: stop)
            if let warning { onWarning?(warning) }
        }
        defer { if let trouble = share?.leave() { onWarning?(trouble) } }
        let fetcher = AnalysisFetcher(client: client, retry: options.retry, throttle: throttle)
        // Workers wait on `halt`: requested by `stop` (a signal) or by an abort (401/403,
        // unreachable console, write failure), so either ends every wait at once. Requests
        // in flight then get `stopGrace` before `cancel` ends them.
        let halt = StopRequest()
        let link = stop.onRequest { halt.request() }
        defer { stop.removeObserver(link) }
        let cancel = halt.escalated(after: options.stopGrace)
        let abort = AbortReason(halt: halt)
        let idChannel = BoundedChannel<String>(capacity: max(16, options.client.concurrency * 4))
        let results = BoundedChannel<FetchOutcome>(capacity: max(16, options.client.concurrency * 4))
        // A halt ends the hand-out of IDs at once, also while the feeder waits for room.
        let closeIds = halt.onRequest { idChannel.finish() }
        defer { halt.removeObserver(closeIds) }
        let pages = try store.queuePages(selection, now: currentTimestamp())
        // Whatever ends the run, IDs claimed and not marked go back to the queue at once.
        defer { pages.releaseClaims() }
        let concurrency = max(1, options.client.concurrency)
        let ingestedAt = currentTimestamp()
        let board = ProgressBoard(total: total, started: started)
        let deferrals = DeferredFetches()
        let ticker = onProgress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    if Task.isCancelled { return }
                    report(board.snapshot(fetcher.counters.snapshot))
                }
            }
        }
        defer { ticker?.cancel() }

        async let producing: Void = withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.feed(pages, into: idChannel, claim: max(32, 4 * concurrency), halt: halt, abort: abort) }
            for _ in 0..<concurrency {
                group.addTask {
                    await Self.work(fetcher: fetcher, ids: idChannel, results: results, abort: abort, halt: halt, cancel: cancel,
                                    deferrals: deferrals, concurrency: concurrency, ingestedAt: ingestedAt)
                }
            }
            await group.waitForAll()
            results.finish()
        }

        do {
            try await write(results: results, store: store, console: console.name, runId: runId,
                            summary: &summary, fetcher: fetcher, board: board)
        } catch {
            // The database failed (disk full, I/O error): what was committed stays, the rest
            // stays queued, and the run is recorded as failed as far as the database takes it.
            let message = "database write failed: \(error)"
            abort.set(message)
            idChannel.finish()
            results.finish()
            await producing
            await client.shutdown()
            let requests = fetcher.counters.snapshot
            summary.counts.retries = requests.retries
            summary.counts.requests = requests.requests
            summary.elapsedSeconds = (clock.now - started).seconds
            summary.status = .failed
            summary.message = message
            summary.databaseFailed = true
            do {
                try store.finishRun(runId, status: .failed, counts: summary.counts, message: message)
            } catch {
                // A full disk takes not even this row: the store keeps it elsewhere for the next run.
                store.leaveFailureNote(runId: runId, message: message)
                onWarning?("the database cannot take the run's record either (\(error)); the next run records it")
            }
            return summary
        }
        await producing
        await client.shutdown()

        let requests = fetcher.counters.snapshot
        summary.counts.retries = requests.retries
        summary.counts.requests = requests.requests
        summary.elapsedSeconds = (clock.now - started).seconds
        if let reason = abort.reason {
            summary.status = .failed
            summary.message = reason
            summary.authenticationFailed = abort.isAuthentication
        } else if stop.isRequested {
            summary.status = .aborted
            summary.message = "stopped by a signal; IDs not yet fetched stay pending for `s1ingest ingest --queue`"
        } else if summary.redirected > 0, summary.redirected == summary.counts.failed,
                  summary.counts.stored + summary.counts.unchanged + summary.counts.notFound == 0 {
            // Every answer was a redirect: the console URL is wrong, not some threats.
            summary.status = .failed
            summary.message = "every request was answered with a redirect ("
                + (summary.failures.first?.error ?? "3xx") + ")"
        } else if summary.counts.notFound + summary.counts.failed + summary.counts.invalidIds + summary.counts.conflicts > 0 {
            summary.status = .partial
        } else {
            summary.status = .ok
        }
        try store.finishRun(runId, status: summary.status, counts: summary.counts, message: summary.message)
        summary.pacing = await throttle.report
        summary.pacing!.budget = (share ?? options.workerShare)?.consoleBudget(summary.pacing!.budget) ?? summary.pacing!.budget
        try store.recordPacing(runId, console: options.endpoint.baseURL, pacing: RunPacing(summary.pacing!))
        return summary
    }

    // MARK: Stages

    /// Pages IDs out of the queue (the store reads them beside the writer) and hands them to
    /// the workers, until the queue is drained or `halt` is requested. Pages of `claim` IDs:
    /// on a queue several processes drain (PostgreSQL, where a page is a claim held by this
    /// process), a small page leaves the rest to the others, so they finish together.
    package static func feed(_ pages: any QueuePager, into ids: BoundedChannel<String>, claim: Int = 1000, halt: StopRequest,
                             abort: AbortReason) async {
        defer { ids.finish() }
        while !halt.isRequested {
            let page: [String]
            do {
                page = try pages.next(limit: claim)
            } catch {
                abort.set("cannot read the queue: \(error)")
                return
            }
            if page.isEmpty { return }
            for id in page {
                if halt.isRequested { return }
                guard await ids.send(id) else { return }
            }
        }
    }

    /// One fetch worker: takes IDs until there are none, fetches each, hands on the outcome.
    package static func work(fetcher: AnalysisFetcher, ids: BoundedChannel<String>, results: BoundedChannel<FetchOutcome>,
                     abort: AbortReason, halt: StopRequest, cancel: StopRequest, deferrals: DeferredFetches, concurrency: Int,
                     ingestedAt: String) async {
        // IDs whose 429 wait is over come first; once the channel is done, the deferred IDs
        // are waited for. A worker that defers an ID goes on looping, so none is left behind.
        func nextID() async -> (id: String, attempts: Int)? {
            if let due = deferrals.takeDue() { return due }
            if let id = await ids.receive() { return (id, 0) }
            return await deferrals.next(stop: halt)
        }
        while let (id, attemptsSoFar) = await nextID() {
            // IDs still in the channel, and IDs whose fetch the halt cut short, stay as they
            // are in the queue for the next run.
            if halt.isRequested { return }
            let outcome = await fetcher.fetch(id, ingestedAt: ingestedAt, stop: halt, cancel: cancel, attemptsSoFar: attemptsSoFar,
                                              deferrals: deferrals)
            if outcome.stopped { return }
            if outcome.deferred { continue }
            if let message = outcome.consoleUnreachable {
                abort.set(message)
                ids.finish()
                return
            }
            if let error = outcome.error, error.endsRun {
                abort.set(error.description, authentication: true)
                ids.finish()
                return
            }
            let counters = fetcher.counters.snapshot
            if counters.successes == 0, counters.failedResponses == 0, counters.consecutiveNoResponse >= max(4, concurrency),
               let error = outcome.error {
                abort.set(fetcher.counters.consoleUnreachable(fetcher.client.endpoint, now: true)
                          ?? "cannot reach the console at \(fetcher.client.endpoint.baseURL): \(error)")
                ids.finish()
                return
            }
            guard await results.send(outcome) else { return }
        }
    }

    /// The one writer: stores analyses, records failures, commits in batches. The run
    /// record's counts are updated in each commit, so a killed run shows what it stored. On
    /// a database error the summary's counts are left at what was committed.
    nonisolated(nonsending) private func write(results: BoundedChannel<FetchOutcome>, store: any Store, console: String, runId: Int64,
                                               summary: inout IngestSummary,
                                               fetcher: AnalysisFetcher, board: ProgressBoard) async throws {
        let clock = ContinuousClock()
        let writer = BatchWriter(store: store, batchSize: options.batchSize, commitInterval: options.commitInterval)
        var committed = (counts: summary.counts, outcomes: summary.outcomes, failures: summary.failures.count)
        try writer.begin()
        do {
            while true {
                let next = await results.receive()
                // With what else has arrived meanwhile: the store looks their threats up
                // together (one round trip on PostgreSQL), not one by one.
                let group = next.map { [$0] + results.receiveWaiting(limit: min(127, writer.room - 1)) } ?? []
                try store.prepare(group.compactMap(\.analysis))
                let now = clock.now
                for outcome in group {
                    let wallClock = wallClockSeconds()
                    let timestamp = formatTimestamp(secondsSince1970: wallClock)
                    if let analysis = outcome.analysis {
                        let result = try store.store(analysis, console: console, ingestedAt: timestamp)
                        summary.outcomes[result, default: 0] += 1
                        if result == .conflict {
                            // Another console's threat or agent: kept as a failure no run retries.
                            let message = store.lastConflict.map { "conflict: \($0)" } ?? "conflict with another console"
                            try store.markFailed(outcome.threatId, failure: QueueFailure(notFound: false, status: nil, message: message, retryable: false),
                                                 attempts: outcome.attempts, nextAttemptAt: nil, runId: runId, at: timestamp)
                            summary.counts.conflicts += 1
                            if summary.failures.count < 100 { summary.failures.append((outcome.threatId, message)) }
                            onWarning?("threat \(outcome.threatId): \(message)")
                        } else {
                            try store.markDone(outcome.threatId, attempts: outcome.attempts, runId: runId, at: timestamp)
                            if result == .inserted || result == .updated { summary.counts.stored += 1 } else { summary.counts.unchanged += 1 }
                        }
                    } else if let error = outcome.error {
                        // `ingest --queue` leaves a retryable failure alone until its back-off is over.
                        let nextAttemptAt = outcome.retryDelay.map { formatTimestamp(secondsSince1970: wallClock + $0.seconds) }
                        try store.markFailed(outcome.threatId, failure: QueueFailure(error), attempts: outcome.attempts, nextAttemptAt: nextAttemptAt,
                                             runId: runId, at: timestamp)
                        if error == .notFound { summary.counts.notFound += 1 } else { summary.counts.failed += 1 }
                        if case .redirected = error { summary.redirected += 1 }
                        if summary.failures.count < 100 { summary.failures.append((outcome.threatId, error.description)) }
                        if error != .notFound { onWarning?("threat \(outcome.threatId): gave up after \(outcome.attempts) attempt(s): \(error)") }
                    }
                    writer.added()
                    board.update(summary.counts)
                }
                if next == nil || writer.isDue(now: now) {
                    // The run record's counts go into the batch that commits them.
                    var counts = summary.counts
                    let requests = fetcher.counters.snapshot
                    counts.requests = requests.requests
                    counts.retries = requests.retries
                    writer.beforeCommit = { try store.updateRun(runId, counts: counts) }
                    try writer.commit()
                    committed = (summary.counts, summary.outcomes, summary.failures.count)
                    if next == nil { return }
                    try writer.begin()
                }
            }
        } catch {
            writer.abandon()
            summary.counts = committed.counts
            summary.outcomes = committed.outcomes
            summary.failures.removeLast(summary.failures.count - committed.failures)
            throw error
        }
    }
}

import Synchronization

/// The first reason to end a run early, shared by its tasks. Setting it requests `halt`.
package final class AbortReason: Sendable {
    private let value = Mutex<(reason: String?, authentication: Bool)>((nil, false))
    private let halt: StopRequest

    package init(halt: StopRequest) {
        self.halt = halt
    }

    package func set(_ reason: String, authentication: Bool = false) {
        value.withLock { if $0.reason == nil { $0 = (reason, authentication) } }
        halt.request()
    }

    package var reason: String? { value.withLock { $0.reason } }

    package var isAuthentication: Bool { value.withLock { $0.authentication } }
}

/// What the writer has done so far, for the progress ticker.
package final class ProgressBoard: Sendable {
    private let counts = Mutex(RunCounts())
    private let total: Int
    private let started: ContinuousClock.Instant

    package init(total: Int, started: ContinuousClock.Instant) {
        self.total = total
        self.started = started
    }

    package func update(_ value: RunCounts) { counts.withLock { $0 = value } }

    /// Progress now; the last error while requests keep failing.
    package func snapshot(_ requests: FetchCounters.Values) -> IngestProgress {
        let c = counts.withLock { $0 }
        return IngestProgress(done: c.stored + c.unchanged + c.notFound + c.failed + c.conflicts, total: total, stored: c.stored,
                              errors: c.failed + c.notFound, retries: requests.retries,
                              elapsedSeconds: (ContinuousClock.now - started).seconds, lastError: requests.lastError)
    }
}
