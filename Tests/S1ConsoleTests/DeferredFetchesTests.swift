import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// IDs waiting out a 429's `Retry-After` while their worker fetches others.
@Suite struct DeferredFetchesTests {
    @Test func dueIDsComeFirstInTheOrderTheyFallDue() async {
        let deferrals = DeferredFetches()
        let now = ContinuousClock.now
        deferrals.add("3", attempts: 1, due: now + .seconds(60))
        deferrals.add("2", attempts: 2, due: now - .milliseconds(10))
        deferrals.add("1", attempts: 1, due: now - .milliseconds(20))
        #expect(deferrals.takeDue()?.id == "1")
        #expect(deferrals.takeDue().map { [$0.id, String($0.attempts)] } == ["2", "2"])
        #expect(deferrals.takeDue() == nil)
        // The last one is waited for; a stop ends the wait and leaves it to the queue.
        let stop = StopRequest()
        Task { try? await Task.sleep(for: .milliseconds(50)); stop.request() }
        #expect(await deferrals.next(stop: stop) == nil)
        #expect(await deferrals.next(stop: StopRequest()) == nil)
    }

    @Test func deferredIDsAreFetchedAgainAndStoredOnceAndAStopLeavesThemPending() async throws {
        // Each ID's first request gets 429 with Retry-After: 2: the IDs wait (deferred, or
        // in the client-wide pause the pacer makes of it), then each is fetched once more.
        let bench = try await IngestBench.start(count: 8, faults: FaultPlan(firstAttempts: [.tooManyRequests(retryAfter: .seconds(2))]))
        var options = try bench.options(concurrency: 2)
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(5), maxDelay: .seconds(4))
        let summary = try await bench.run(options)
        let requests = (0..<8).map { bench.mock.requestCount(forThreat: bench.set.threatId($0)) }
        #expect(summary.status == .ok)
        #expect(summary.counts.stored == 8)
        #expect(requests.allSatisfy { $0 == 2 }, "\(requests)")
        #expect(try bench.queueStates() == ["done": 8])

        // Again with new IDs, stopped while they wait: none is lost or marked failed.
        let more = try await IngestBench.start(count: 6, faults: FaultPlan(firstAttempts: [.tooManyRequests(retryAfter: .seconds(30))]))
        let stop = StopRequest()
        Task { try? await Task.sleep(for: .seconds(1)); stop.request() }
        var stopping = try more.options(concurrency: 2)
        stopping.retry = options.retry
        let stopped = try await more.run(stopping, stop: stop)
        await more.stop()
        await bench.stop()
        #expect(stopped.status == .aborted)
        #expect(try more.queueStates() == ["pending": 6])
    }
}
