/// Fetches threat analyses from the console and stores them: IDs are enqueued durably,
/// a bounded pool of workers fetches them (retries, pacing), and the one writer stores
/// each analysis and marks its ID done in the same transaction.
public final class Ingester {
    public let options: IngestOptions
    /// Called about twice a second.
    public var onProgress: ((IngestProgress) -> Void)?
    /// Called for things a person should see at once (bad ID lines, IDs given up on).
    public var onWarning: ((String) -> Void)?

    public init(options: IngestOptions) {
        self.options = options
    }

    /// Runs to the end (or to `stop`). Throws only when the database or the ID file cannot
    /// be used; console failures end up in the summary's status and message.
    nonisolated(nonsending) public func run(stop: StopRequest = StopRequest()) async throws -> IngestSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let database = try StoreOpener.openForWriting(path: options.databasePath)
        let store = try AnalysisStore(database: database)
        let queue = try IngestQueue(database: database)
        var summary = IngestSummary()
        summary.consoleURL = options.endpoint.baseURL

        try RunRecords.closeAbandoned(database)
        let selection: IngestQueue.Selection
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
        let runId = try RunRecords.start(database, command: options.command, source: sourceLabel, console: options.endpoint.baseURL)
        summary.runId = runId
        if case .queue = options.source {
            selection = .drain
        } else {
            try queue.enqueue(ids, runId: runId)
            selection = .run(runId)
        }
        let total = try IngestQueue.count(database, selection: selection, now: currentTimestamp())
        summary.counts.requested = total

        let client = try ConsoleClient(endpoint: options.endpoint, settings: options.client)
        let fetcher = AnalysisFetcher(client: client, retry: options.retry,
                                      throttle: RequestThrottle(maxRate: options.maxRequestsPerSecond))
        let abort = AbortReason()
        let idChannel = BoundedChannel<String>(capacity: max(16, options.client.concurrency * 4))
        let results = BoundedChannel<FetchOutcome>(capacity: max(16, options.client.concurrency * 4))
        let path = options.databasePath
        let concurrency = max(1, options.client.concurrency)
        let ingestedAt = currentTimestamp()

        async let producing: Void = withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.feed(path: path, selection: selection, into: idChannel, stop: stop, abort: abort) }
            for _ in 0..<concurrency {
                group.addTask {
                    await Self.work(fetcher: fetcher, ids: idChannel, results: results, abort: abort, stop: stop,
                                    concurrency: concurrency, ingestedAt: ingestedAt)
                }
            }
            await group.waitForAll()
            results.finish()
        }

        do {
            try await write(results: results, store: store, queue: queue, runId: runId, summary: &summary,
                            fetcher: fetcher, total: total, started: started)
        } catch {
            abort.set("database write failed: \(error)")
            idChannel.finish()
            results.finish()
            await producing
            await client.shutdown()
            summary.status = .failed
            summary.message = abort.reason
            try? RunRecords.finish(database, runId: runId, status: .failed, counts: summary.counts, message: summary.message)
            throw error
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
        } else if summary.counts.notFound + summary.counts.failed + summary.counts.invalidIds > 0 {
            summary.status = .partial
        } else {
            summary.status = .ok
        }
        try RunRecords.finish(database, runId: runId, status: summary.status, counts: summary.counts, message: summary.message)
        return summary
    }

    // MARK: Stages

    /// Pages IDs out of the queue through its own read connection and hands them to the workers.
    static func feed(path: String, selection: IngestQueue.Selection, into ids: BoundedChannel<String>,
                     stop: StopRequest, abort: AbortReason) async {
        defer { ids.finish() }
        guard let reader = try? Database(path: path, mode: .readOnly) else {
            abort.set("cannot open \(path) to read the queue")
            return
        }
        let now = currentTimestamp()
        var after = ""
        while !stop.isRequested, abort.reason == nil {
            guard let page = try? IngestQueue.page(reader, selection: selection, after: after, limit: 1000, now: now),
                  let last = page.last else { return }
            for id in page {
                if stop.isRequested || abort.reason != nil { return }
                guard await ids.send(id) else { return }
            }
            after = last
        }
    }

    /// One fetch worker: takes IDs until there are none, fetches each, hands on the outcome.
    static func work(fetcher: AnalysisFetcher, ids: BoundedChannel<String>, results: BoundedChannel<FetchOutcome>,
                     abort: AbortReason, stop: StopRequest, concurrency: Int, ingestedAt: String) async {
        while let id = await ids.receive() {
            // IDs still in the channel stay pending in the queue for the next run.
            if abort.reason != nil || stop.isRequested { return }
            let outcome = await fetcher.fetch(id, ingestedAt: ingestedAt)
            if let error = outcome.error, error.endsRun {
                abort.set(error.description, authentication: true)
                ids.finish()
                return
            }
            let counters = fetcher.counters.snapshot
            if counters.successes == 0, counters.failedResponses == 0, counters.consecutiveNoResponse >= max(4, concurrency),
               let error = outcome.error {
                abort.set("cannot reach the console at \(fetcher.client.endpoint.baseURL): \(error)")
                ids.finish()
                return
            }
            guard await results.send(outcome) else { return }
        }
    }

    /// The one writer: stores analyses, records failures, commits in batches.
    nonisolated(nonsending) private func write(results: BoundedChannel<FetchOutcome>, store: AnalysisStore, queue: IngestQueue,
                                               runId: Int64, summary: inout IngestSummary, fetcher: AnalysisFetcher,
                                               total: Int, started: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        var inBatch = 0
        var batchStarted = clock.now
        var lastProgress = started
        var done = 0
        try store.beginBatch()
        do {
            while true {
                let next = await results.receive()
                let now = clock.now
                if let outcome = next {
                    let timestamp = currentTimestamp()
                    if let analysis = outcome.analysis {
                        let result = try store.store(analysis, ingestedAt: timestamp)
                        try queue.markDone(outcome.threatId, attempts: outcome.attempts, runId: runId, at: timestamp)
                        summary.outcomes[result, default: 0] += 1
                        if result == .inserted || result == .updated { summary.counts.stored += 1 } else { summary.counts.unchanged += 1 }
                    } else if let error = outcome.error {
                        try queue.markFailed(outcome.threatId, error: error, attempts: outcome.attempts, nextAttemptAt: nil,
                                             runId: runId, at: timestamp)
                        if error == .notFound { summary.counts.notFound += 1 } else { summary.counts.failed += 1 }
                        if summary.failures.count < 100 { summary.failures.append((outcome.threatId, error.description)) }
                        if error != .notFound { onWarning?("threat \(outcome.threatId): gave up after \(outcome.attempts) attempt(s): \(error)") }
                    }
                    done += 1
                    inBatch += 1
                }
                if next == nil || inBatch >= options.batchSize || (inBatch > 0 && now - batchStarted >= options.commitInterval) {
                    try store.commitBatch()
                    inBatch = 0
                    batchStarted = now
                    if next == nil { return }
                    try store.beginBatch()
                }
                if let onProgress, now - lastProgress >= .milliseconds(500) {
                    lastProgress = now
                    let counters = fetcher.counters.snapshot
                    onProgress(IngestProgress(done: done, total: total, stored: summary.counts.stored,
                                              errors: summary.counts.failed + summary.counts.notFound, retries: counters.retries,
                                              elapsedSeconds: (now - started).seconds))
                }
            }
        } catch {
            store.rollbackBatch()
            throw error
        }
    }
}

import Synchronization

/// The first reason to end a run early, shared by its tasks.
final class AbortReason: Sendable {
    private let value = Mutex<(reason: String?, authentication: Bool)>((nil, false))

    func set(_ reason: String, authentication: Bool = false) {
        value.withLock { if $0.reason == nil { $0 = (reason, authentication) } }
    }

    var reason: String? { value.withLock { $0.reason } }

    var isAuthentication: Bool { value.withLock { $0.authentication } }
}
