import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// Pacing against the mock console over real loopback HTTP: what a run records and
/// remembers, and one pacer for sync's listing and fetches.
@Suite struct PacingIntegrationTests {
    static let budget = TokenBucketLimit(rate: 40, burst: 5, retryAfter: nil)

    @Test func aRunRecordsItsPaceAndTheNextOneStartsFromTheBudgetItMeasured() async throws {
        // 400 requests: the first 429 ends the unpaced start and the pace restarts from what was
        // accepted; a measurement needs a second 429, which a busy machine delayed past 200.
        let bench = try await IngestBench.start(count: 400, faults: FaultPlan(latencyMilliseconds: 10, rateLimit: Self.budget))
        defer { Task { await bench.stop() } }
        let first = try await bench.run(try bench.options(concurrency: 8, maxAttempts: 30))
        #expect(first.counts.stored == 400)
        let pacing = try #require(first.pacing)
        #expect(pacing.rateLimited == bench.mock.rateLimitedRequests, "every 429 reached the pacer")
        #expect(pacing.rateLimited > 0, "400 requests at 40/s meet the budget")
        let budget = try #require(pacing.budget, "a 429 yields a measurement")
        // Never above the console's 40/s by much; below it when the machine is too busy for
        // the client to keep its pace (what it measures is then what it can do).
        #expect(budget > 0 && budget < 60, "measured \(budget)")

        // The run record and the console's remembered budget.
        let database = try bench.database()
        let recorded = RunRecords.pacing(database, runIds: [first.runId])[first.runId]
        #expect(recorded?.rateLimited == pacing.rateLimited)
        #expect(recorded?.budget == budget)
        #expect(recorded?.pace != nil)
        let remembered = try #require(ConsolePace.learned(database, console: bench.mock.baseURL))
        #expect(remembered == budget)

        // The next run resumes just below it instead of starting over from 10/s.
        let resumed = RequestThrottle(maxRate: nil, learnedBudget: remembered)
        let resumedRate = try #require(await resumed.currentRate)
        #expect(resumedRate >= 0.9 * remembered, "resumed at \(resumedRate) from \(remembered)")
        let second = try await bench.run(try bench.options(concurrency: 8, maxAttempts: 30))
        #expect(second.counts.unchanged == 400)
        #expect(second.pacing?.budget != nil || second.pacing?.rateLimited == 0)
    }

    @Test func syncListsAndFetchesThroughOnePacer() async throws {
        let bench = try await IngestBench.start(count: 150, faults: FaultPlan(latencyMilliseconds: 5, rateLimit: Self.budget))
        defer { Task { await bench.stop() } }
        var options = try bench.syncOptions(pageSize: 10, concurrency: 8)
        options.retry = RetryPolicy(maxAttempts: 30, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
        let summary = try await bench.sync(options)
        #expect(summary.ingest?.counts.stored == 150)
        #expect(bench.mock.listRequests >= 15)
        // The listing's 429s and the fetches' went to the same pacer: it saw every one.
        let pacing = try #require(summary.ingest?.pacing)
        #expect(pacing.rateLimited == bench.mock.rateLimitedRequests)
    }
}
