import S1Common
import S1Console
import S1Storage

/// `s1ingest sync --consoles FILE`: syncs several consoles in one run, concurrently, into one
/// store. Each console has its own client, pacer, queue slice (`ingest_queue.console`) and
/// watermark; all share the one writer (`SharedStore`). A console that is slow, unreachable
/// or refuses its token ends only its own sync.
public final class MultiSyncer {
    /// One sync per console; `consoleName` set on each.
    public let jobs: [SyncOptions]
    public let provider: any StoreProvider
    /// Progress, warnings and milestones, with the console's name.
    public var onProgress: (@Sendable (String, IngestProgress) -> Void)?
    public var onWarning: (@Sendable (String, String) -> Void)?
    public var onInfo: (@Sendable (String, String) -> Void)?

    public init(jobs: [SyncOptions], store provider: any StoreProvider) {
        self.jobs = jobs
        self.provider = provider
    }

    /// Runs every console's sync to its end (or to `stop`). Throws only when the store
    /// cannot be opened; a console's own failure is in its result.
    nonisolated(nonsending) public func run(stop: StopRequest = StopRequest()) async throws -> MultiSyncSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let store = try provider.openForWriting()
        let shared = SharedStore(store)
        try shared.closeAbandonedRuns()
        let onProgress = self.onProgress, onWarning = self.onWarning, onInfo = self.onInfo
        let provider = self.provider
        var results: [Int: ConsoleSyncResult] = [:]
        await withTaskGroup(of: (Int, ConsoleSyncResult).self) { group in
            for (index, job) in jobs.enumerated() {
                let name = job.consoleName ?? job.endpoint.baseURL
                let view = UncheckedStore(store: shared.view())
                group.addTask { () async -> (Int, ConsoleSyncResult) in
                    let result = await Self.sync(job, name: name, provider: provider, store: view, stop: stop,
                                                 onProgress: onProgress, onWarning: onWarning, onInfo: onInfo)
                    return (index, result)
                }
            }
            for await (index, result) in group { results[index] = result }
        }
        shared.finish()
        var summary = MultiSyncSummary()
        summary.consoles = jobs.indices.compactMap { results[$0] }
        summary.stopped = stop.isRequested
        summary.elapsedSeconds = (clock.now - started).seconds
        return summary
    }

    private static func sync(_ job: SyncOptions, name: String, provider: any StoreProvider, store: UncheckedStore, stop: StopRequest,
                             onProgress: (@Sendable (String, IngestProgress) -> Void)?, onWarning: (@Sendable (String, String) -> Void)?,
                             onInfo: (@Sendable (String, String) -> Void)?) async -> ConsoleSyncResult {
        let syncer = Syncer(options: job, store: provider)
        if let onProgress { syncer.onProgress = { @Sendable progress in onProgress(name, progress) } }
        if let onWarning { syncer.onWarning = { message in onWarning(name, message) } }
        if let onInfo { syncer.onInfo = { message in onInfo(name, message) } }
        do {
            let summary = try await syncer.run(on: store.store, stop: stop)
            return ConsoleSyncResult(name: name, url: job.endpoint.baseURL, summary: summary, error: nil)
        } catch {
            return ConsoleSyncResult(name: name, url: job.endpoint.baseURL, summary: nil, error: "\(error)")
        }
    }
}

/// Hands a view of the shared store to the console's task (the view locks every call).
private struct UncheckedStore: @unchecked Sendable {
    let store: any Store
}

/// How one console's sync ended.
public struct ConsoleSyncResult: Sendable {
    public var name: String
    public var url: String
    /// The sync's summary; nil when it could not start (`error`).
    public var summary: SyncSummary?
    /// Why the sync could not run at all (its client or its console's name).
    public var error: String?

    public init(name: String, url: String, summary: SyncSummary?, error: String?) {
        self.name = name
        self.url = url
        self.summary = summary
        self.error = error
    }

    /// The run's status: a sync that could not start is `failed`.
    public var status: RunStatus { summary?.status ?? .failed }
}

/// What `sync --consoles` did: one result per console, in the file's order.
public struct MultiSyncSummary: Sendable {
    public var consoles: [ConsoleSyncResult] = []
    public var stopped = false
    public var elapsedSeconds = 0.0

    /// The counts of every console's drain added up.
    public var total: RunCounts {
        var total = RunCounts()
        for result in consoles {
            guard let summary = result.summary else { continue }
            let c = summary.ingest?.counts ?? RunCounts()
            total.requested += c.requested
            total.stored += c.stored
            total.unchanged += c.unchanged
            total.notFound += c.notFound
            total.failed += c.failed
            total.conflicts += c.conflicts
            total.invalidIds += c.invalidIds
            total.retries += c.retries + summary.listRetries
            total.requests += c.requests + summary.listRequests
        }
        return total
    }

    /// The worst outcome, by the documented order: a stop, then a refused token, then a
    /// failure, then a partial run, then ok.
    public var worst: ConsoleSyncOutcome {
        if stopped || consoles.contains(where: { $0.status == .aborted }) { return .stopped }
        return consoles.map(\.outcome).max() ?? .ok
    }
}

/// A console's sync as the exit code sees it, in order of severity.
public enum ConsoleSyncOutcome: Int, Comparable, Sendable {
    case ok, partial, failed, authentication, stopped

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension ConsoleSyncResult {
    public var outcome: ConsoleSyncOutcome {
        guard let summary else { return .failed }
        switch summary.status {
        case .ok, .running: return .ok
        case .partial: return .partial
        case .aborted: return .stopped
        case .failed: return summary.authenticationFailed ? .authentication : .failed
        }
    }
}
