import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct IngestHardeningTests {
    @Test func aStopEndsA429PauseAtOnceAndLeavesTheIDsPending() async throws {
        // Every first answer is a 429 asking for 100 s: without a prompt stop the run would sit out the pause.
        let bench = try await IngestBench.start(count: 8, faults: FaultPlan(firstAttempts: [.tooManyRequests(retryAfter: .seconds(100))]))
        defer { Task { await bench.stop() } }
        let stop = StopRequest()
        let mock = bench.mock
        Task {
            // (The pacer starts slowly and the first 429 pauses everyone: one request may be all.)
            while mock.analysisRequests < 1 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(300))
            stop.request()
        }
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try await bench.run(try bench.options(concurrency: 4), stop: stop)
        #expect(clock.now - started < .seconds(60), "the stop waited out the pause")
        #expect(summary.status == .aborted)
        #expect(try bench.queueStates() == ["pending": 8])
    }

    @Test func anAbortWakesEveryWaitingWorker() {
        let halt = StopRequest()
        let abort = AbortReason(halt: halt)
        #expect(!halt.isRequested)
        abort.set("401 Authentication Failed", authentication: true)
        #expect(halt.isRequested)
        #expect(abort.isAuthentication)
    }

    @Test func aRetryableFailureWaitsForItsBackoffBeforeTheQueueRetriesIt() async throws {
        let bench = try await IngestBench.start(count: 5, faults: FaultPlan(firstAttempts: [.serverError(status: 502)]))
        defer { Task { await bench.stop() } }
        var options = try bench.options()
        options.retry = RetryPolicy(maxAttempts: 1, baseDelay: .seconds(60), maxDelay: .seconds(60))
        let before = wallClockSeconds()
        let first = try await bench.run(options)
        #expect(first.counts.failed == 5)
        let due = try bench.database().query("SELECT next_attempt_at FROM ingest_queue").compactMap { $0.first?.textValue }
        #expect(due.count == 5)
        #expect(due.allSatisfy { $0 >= formatTimestamp(secondsSince1970: before + 59) }, "\(due)")
        // Too early: `--queue` leaves them alone.
        options.source = .queue
        let early = try await bench.run(options)
        #expect(early.counts.requested == 0)
        #expect(bench.mock.analysisRequests == 5)
        #expect(try bench.queueStates() == ["failed": 5])
        // Once the back-off is over they are due again.
        let later = formatTimestamp(secondsSince1970: wallClockSeconds() + 61)
        #expect(try IngestQueue.count(bench.database(), selection: .drain(console: "default"), now: later) == 5)
    }

    @Test func anUnusableCAFileFailsBeforeTheRunIsRecorded() async throws {
        let bench = try await IngestBench.start(count: 3)
        defer { Task { await bench.stop() } }
        var options = try bench.options()
        options.client.caFile = bench.scratch.path("missing-ca.pem")
        await #expect(throws: ConsoleConfigurationError.self) { _ = try await bench.run(options) }
        #expect(try count(bench.database(), "ingest_runs") == 0)
        #expect(try count(bench.database(), "ingest_queue") == 0)
        #expect(bench.mock.analysisRequests == 0)
    }

    @Test func anOversizedGzipResponseIsTheSameClearFailureNotRetried() async throws {
        let bench = try await IngestBench.start(count: 3, gzip: true)
        defer { Task { await bench.stop() } }
        // Small enough gzipped to pass the wire, too large once unpacked.
        let limit = (0..<3).map { bench.set.body($0).utf8.count }.min()! / 2
        let summary = try await bench.run(try bench.options(maxResponseBytes: limit))
        #expect(summary.counts.failed == 3)
        #expect(summary.failures.allSatisfy { $0.error.contains("larger than") }, "\(summary.failures)")
        #expect((0..<3).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
        let retryable = try bench.database().query("SELECT DISTINCT retryable FROM ingest_queue")
        #expect(retryable == [[0]])
    }
}
