import Foundation
import S1IngestCore
import S1MockConsole

extension IngestBench {
    /// Sync options against this bench's mock: fast retries, a given page size.
    package func syncOptions(since: SyncStart? = .timestamp("2020-01-01T00:00:00.000000Z"), siteIds: [String] = [],
                     overlapSeconds: Int64 = SyncOptions.defaultOverlapSeconds,
                     pageSize: Int = 1000, concurrency: Int = 8, token: String? = nil) throws -> SyncOptions {
        let endpoint = try ConsoleEndpoint(url: mock.baseURL, token: token ?? self.token)
        return SyncOptions(
            databasePath: db, endpoint: endpoint, siteIds: siteIds, since: since, overlapSeconds: overlapSeconds,
            // No test here waits for a timeout; these are long so that a 1,000-item page built
            // while every suite runs on two cores is never cut off and asked for again.
            client: ConsoleClientSettings(concurrency: concurrency, connectTimeout: .seconds(10), readTimeout: .seconds(60),
                                          requestDeadline: .seconds(120)),
            retry: RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50)),
            pageSize: pageSize)
    }

    package func sync(_ options: SyncOptions, stop: StopRequest = StopRequest(), now: Double? = nil,
              onProgress: (@Sendable (IngestProgress) -> Void)? = nil) async throws -> SyncSummary {
        let syncer = Syncer(options: options)
        if let now { syncer.now = { now } }
        syncer.onProgress = onProgress
        return try await syncer.run(stop: stop)
    }

    /// The stored watermark for `options`.
    package func watermark(_ options: SyncOptions) throws -> String? {
        try SyncState.watermark(database(), key: options.stateKey)
    }

    /// The latest `updatedAt` the mock serves, normalised.
    package var latestUpdatedAt: String {
        (0..<set.count).map { normalizedTimestamp(mock.updatedAt(of: $0))! }.max()!
    }

    /// How many threats the mock lists with `updatedAt__gte=from`.
    package func listedCount(from: String) -> Int {
        (0..<set.count).filter { normalizedTimestamp(mock.updatedAt(of: $0))! >= from }.count
    }
}
