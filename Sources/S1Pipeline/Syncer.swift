import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// `s1ingest sync`: lists threats updated since the watermark, enqueues the new and changed
/// ones, drains the queue like `ingest --queue`, then moves the watermark — only over
/// threats whose analyses are committed.
///
/// The watermark moves as `WatermarkTarget` allows: to the `updatedAt` of the earliest listed
/// threat still to be fetched (pending, failed-but-retryable, or stored older than listed),
/// or to the newest listed when none is. Each run lists from the watermark less an overlap
/// (`SyncOptions.overlapSeconds`, `updatedAt__gte`), so threats that reach the list late with
/// a slightly older `updatedAt` are found too; a listed threat whose stored `updated_at`
/// equals the listed one is not fetched again. A run that is killed never moves the
/// watermark, so the next run lists the same threats again and misses nothing.
public final class Syncer {
    public let options: SyncOptions
    public var onProgress: (@Sendable (IngestProgress) -> Void)?
    public var onWarning: ((String) -> Void)?
    /// Called for milestones (listing done, watermark moved).
    public var onInfo: ((String) -> Void)?
    /// The time "now" for `--since 24h` and the default window (seconds since 1970); tests set it.
    public var now: () -> Double = { wallClockSeconds() }
    /// Tests only: rewrites (or drops, with nil) each listed item before the syncer sees it,
    /// to play a console whose list shows a threat late or announces a version its analysis
    /// endpoint does not serve yet.
    package var reviseListedItem: ((ListedThreat) -> ListedThreat?)?

    /// Where the analyses go (`options.databasePath` opened by a backend).
    public let provider: any StoreProvider

    public init(options: SyncOptions, store provider: any StoreProvider) {
        self.options = options
        self.provider = provider
    }

    nonisolated(nonsending) public func run(stop: StopRequest = StopRequest()) async throws -> SyncSummary {
        // Held for the whole sync: the listing, the drain and the watermark.
        let store = try provider.openForWriting()
        try store.closeAbandonedRuns()
        return try await run(on: store, stop: stop)
    }

    /// Runs on a store the caller opened (`sync --consoles` runs one per console on a shared one).
    nonisolated(nonsending) package func run(on store: any Store, stop: StopRequest) async throws -> SyncSummary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = SyncSummary()
        let console = try store.registerConsole(name: options.consoleName, url: options.endpoint.baseURL)
        summary.console = console
        summary.stateKey = options.stateKey
        summary.previousWatermark = try store.watermark(key: options.stateKey)
        summary.watermark = summary.previousWatermark
        let from = options.since?.timestamp(now: now())
            ?? summary.previousWatermark.map { timestamp($0, minusSeconds: options.overlapSeconds) ?? $0 }
            ?? SyncStart.defaultFirstWindow.timestamp(now: now())
        summary.listedFrom = from
        // The first sync remembers where it started before it lists anything: when it is
        // killed, the next run starts from the same point (not from a later "7 days ago").
        // This covers nothing yet; it only moves forward from here.
        if summary.previousWatermark == nil {
            _ = try store.advanceWatermark(key: options.stateKey, console: console.name, to: from, runId: nil)
            // What the summary reports is what is stored, also when nothing is listed.
            summary.watermark = from
        }

        // Other processes syncing or draining this console on the same database (PostgreSQL)
        // share its rate budget, and one at a time lists. One pacer for the console: the
        // listing and the analysis fetches share its budget.
        let (throttle, share, warning) = await WorkerShare.pacer(provider, console: console.name, maxRate: options.maxRequestsPerSecond,
                                                                 learned: store.learnedPace(console: options.endpoint.baseURL), stop: stop)
        if let warning { onWarning?(warning) }
        defer { if let trouble = share?.leave() { onWarning?(trouble) } }

        // 1. List and enqueue, page by page; unless another process lists this console now
        //    (then this one waits until that listing is done, drains the queue beside it, and
        //    leaves the watermark to it).
        let listing: Listing
        if let share, try !share.coordinator.tryLockListing(console: console.name) {
            summary.listingSkipped = true
            listing = Listing()
            onInfo?("another process is listing console '\(console.name)' now; this one drains the queue once it has listed")
            while await stop.sleep(for: Self.listerPoll) {
                if try share.coordinator.tryLockListing(console: console.name) {
                    try share.coordinator.unlockListing(console: console.name)
                    break
                }
            }
        } else {
            defer { if let share { try? share.coordinator.unlockListing(console: console.name) } }
            listing = try await list(from: from, store: store, console: console.name, throttle: throttle, stop: stop, summary: &summary)
        }
        if let failure = listing.failure {
            summary.status = .failed
            summary.message = listing.unreachable ?? "listing threats failed: \(failure)"
            summary.authenticationFailed = failure.endsRun
            let runId = try store.startRun(command: "sync", source: "threat list", console: console)
            var counts = RunCounts()
            counts.requests = summary.listRequests
            counts.retries = summary.listRetries
            try store.finishRun(runId, status: .failed, counts: counts, message: summary.message)
            var report = await throttle.report
            report.budget = share?.consoleBudget(report.budget) ?? report.budget
            try store.recordPacing(runId, console: options.endpoint.baseURL, pacing: RunPacing(report))
        }
        if !summary.listingSkipped { onInfo?("listed \(summary.listed) threats updated since \(from) in \(summary.pages) page(s): \(summary.enqueued) to fetch, \(summary.alreadyStored) already stored") }

        // 2. Drain the queue, as `ingest --queue` does (also after a listing failure that is
        //    not about the token: what was enqueued is worth fetching).
        if listing.failure?.endsRun != true && listing.unreachable == nil {
            var ingestOptions = IngestOptions(
                databasePath: options.databasePath, endpoint: options.endpoint, source: .queue, client: options.client,
                retry: options.retry, maxRequestsPerSecond: options.maxRequestsPerSecond, command: "sync",
                commitInterval: options.commitInterval, batchSize: options.batchSize)
            ingestOptions.command = "sync"
            ingestOptions.queueLabel = "threat list"
            ingestOptions.stopGrace = options.stopGrace
            ingestOptions.throttle = throttle
            ingestOptions.workerShare = share
            ingestOptions.consoleName = console.name
            let ingester = Ingester(options: ingestOptions, store: provider)
            ingester.onProgress = onProgress
            ingester.onWarning = onWarning
            let drained = try await ingester.run(on: store, stop: stop)
            summary.ingest = drained
            if listing.failure == nil || drained.databaseFailed {
                summary.status = drained.status
                summary.message = drained.message
                summary.authenticationFailed = drained.authenticationFailed
            }
            // The database failed: leave the watermark where it is (the next run lists again).
            if drained.databaseFailed {
                summary.elapsedSeconds = (clock.now - started).seconds
                return summary
            }
        }

        // 3. Move the watermark over what is committed. A `--since` later than the stored
        //    watermark skipped threats in between, so it never moves the watermark.
        // A listing left to another process: the watermark is its to move.
        let coversGap = !summary.listingSkipped && (summary.previousWatermark.map { from <= $0 } ?? true)
        let holdCutoff = formatTimestamp(secondsSince1970: now() - Double(options.behindListHoldSeconds))
        let plan = try WatermarkTarget(store, listed: listing.toFetch, maxSeen: listing.maxSeen, holdCutoff: holdCutoff)
        summary.behindList = plan.behindList.count
        summary.behindListHeld = plan.held.count
        if !plan.behindList.isEmpty { onWarning?(Self.behindListWarning(plan)) }
        if coversGap, let target = plan.target {
            if try store.advanceWatermark(key: options.stateKey, console: console.name, to: target, runId: summary.ingest?.runId) {
                summary.watermarkAdvanced = true
                summary.watermark = target
                onInfo?("watermark moved to \(target)")
            }
        }
        summary.elapsedSeconds = (clock.now - started).seconds
        if stop.isRequested, summary.status != .failed {
            summary.status = .aborted
            summary.message = summary.message ?? "stopped by a signal; the watermark moved only over stored threats"
        }
        return summary
    }

    /// How often a sync waiting for another process's listing looks whether it is done.
    static let listerPoll: Duration = .milliseconds(250)

    private struct Listing {
        package var failure: FetchError?
        /// Why the listing gave up on an unreachable console.
        package var unreachable: String?
        /// Enqueued items, for the watermark.
        package var toFetch: [ListedThreat] = []
        package var maxSeen: String?
    }

    nonisolated(nonsending) private func list(from watermark: String, store: any Store, console: String, throttle: RequestThrottle, stop: StopRequest,
                                              summary: inout SyncSummary) async throws -> Listing {
        let client = try ConsoleClient(endpoint: options.endpoint, settings: options.client)
        var lister = ThreatLister(client: client, retry: options.retry, throttle: throttle,
                                  pageSize: max(1, min(1000, options.pageSize)), siteIds: options.siteIds)
        lister.onRetry = { [onWarning] attempt, error in onWarning?("listing threats: attempt \(attempt) failed (\(error)); retrying") }
        var listing = Listing()
        var cursor: String?
        var seen = Set<String>()
        defer {
            summary.listRequests = lister.requests
            summary.listRetries = lister.retries
        }
        while !stop.isRequested {
            guard let result = await lister.page(from: watermark, cursor: cursor, stop: stop) else { break }
            let page: ThreatListPage
            switch result {
            case .failure(let error):
                listing.failure = error
                listing.unreachable = lister.unreachable
                await client.shutdown()
                return listing
            case .success(let value):
                page = value
            }
            summary.pages += 1
            summary.listSkipped += page.skipped.count
            for reason in page.skipped { onWarning?("threat list: skipped \(reason)") }
            var ids: [String] = []
            for listed in page.items {
                guard let item = reviseListedItem.map({ $0(listed) }) ?? listed else { continue }
                summary.listed += 1
                if listing.maxSeen.map({ item.updatedAt > $0 }) ?? true { listing.maxSeen = item.updatedAt }
                let stored = try store.storedUpdatedAt(threatId: item.threatId)
                if stored == item.updatedAt {
                    summary.alreadyStored += 1
                    continue
                }
                // An ID listed twice (it changed while we paged) is fetched once.
                guard seen.insert(item.threatId).inserted else { continue }
                ids.append(item.threatId)
                listing.toFetch.append(item)
            }
            if !ids.isEmpty {
                try store.enqueue(ids, console: console, runId: nil)
                summary.enqueued += ids.count
            }
            guard let next = page.nextCursor, !page.items.isEmpty else {
                summary.listingComplete = true
                break
            }
            cursor = next
        }
        await client.shutdown()
        return listing
    }

    /// One line about threats whose analysis was behind their list entry.
    package static func behindListWarning(_ plan: WatermarkTarget) -> String {
        let ids = plan.behindList.prefix(5).map(\.threatId).joined(separator: ", ")
        let more = plan.behindList.count > 5 ? " and \(plan.behindList.count - 5) more" : ""
        let released = plan.behindList.count - plan.held.count
        return "\(plan.behindList.count) threat(s) (\(ids)\(more)) were served an analysis older than their list entry: "
            + "\(plan.held.count) hold the watermark back and are fetched again next run"
            + (released > 0 ? "; \(released) listed too long ago no longer do (fetched again when they next change)" : "")
    }
}
