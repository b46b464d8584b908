import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct IngesterTests {
    @Test func storesEveryAnalysisAndMarksTheQueueDone() async throws {
        let bench = try await IngestBench.start(count: 150)
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options())
        #expect(summary.status == .ok)
        #expect(summary.counts.requested == 150)
        #expect(summary.counts.stored == 150)
        #expect(summary.counts.requests == 150)
        let database = try bench.database()
        #expect(try count(database, "threats") == 150)
        #expect(try bench.queueStates() == ["done": 150])
        #expect(try database.scalar("SELECT status || ':' || stored FROM ingest_runs") == "ok:150")
        #expect((0..<150).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
        // The same IDs again: nothing changes, all unchanged.
        let again = try await bench.run(try bench.options())
        #expect(again.counts.unchanged == 150)
        #expect(try count(database, "threats") == 150)
    }

    @Test(arguments: [
        Fault.tooManyRequests(retryAfter: nil), .serverError(status: 500), .serverError(status: 503), .dropConnection,
        .truncatedBody, .malformedBody,
    ])
    func retryableFaultsAreRetriedUntilStored(fault: Fault) async throws {
        let bench = try await IngestBench.start(count: 20, faults: FaultPlan(firstAttempts: [fault, fault]))
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options(concurrency: 4))
        #expect(summary.status == .ok, "\(fault): \(summary.failures)")
        #expect(summary.counts.stored == 20)
        #expect(summary.counts.retries == 40)
        #expect((0..<20).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 3 })
        #expect(try bench.database().query("PRAGMA integrity_check") == [["ok"]])
    }

    @Test(.cpuExclusive) func retryAfterPausesTheWholeClient() async throws {
        // One burst: four workers each get a 429 with Retry-After: 1.
        let bench = try await IngestBench.start(count: 4, faults: FaultPlan(firstAttempts: [.tooManyRequests(retryAfter: .seconds(1))]))
        defer { Task { await bench.stop() } }
        let clock = ContinuousClock()
        let started = clock.now
        // (A retry policy that honours a Retry-After of 1 s in full, as the default one does:
        // whether the pacer also pauses the whole client for this burst depends on how the
        // 429s fall in its start-up, which a busy machine shifts.)
        var options = try bench.options(concurrency: 4)
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(5), maxDelay: .seconds(1))
        let summary = try await bench.run(options)
        let elapsed = clock.now - started
        #expect(summary.counts.stored == 4)
        #expect(elapsed >= .milliseconds(950))
        #expect(elapsed < .seconds(30), "one pause per burst, not a pause per request one after another")
        #expect((0..<4).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 2 })
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() async throws {
        let bench = try await IngestBench.start(count: 2, faults: FaultPlan(firstAttempts: [.tooManyRequests(retryAfter: .httpDate(secondsFromNow: 2))]))
        defer { Task { await bench.stop() } }
        let clock = ContinuousClock()
        let started = clock.now
        // A policy that honours a Retry-After of seconds (the bench's caps waits at 200 ms):
        // whether the pacer also pauses the whole client for one 429 depends on where it falls
        // in its start-up, so the test passed only when a loaded machine slowed it down.
        var options = try bench.options(concurrency: 2)
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(5), maxDelay: .seconds(1))
        let summary = try await bench.run(options)
        #expect(summary.counts.stored == 2)
        // HTTP dates have whole seconds, so the wait is between 1 and 2 seconds.
        #expect(clock.now - started >= .milliseconds(900))
    }

    @Test func slowResponsesTimeOutAndAreRetried() async throws {
        // The deadline is long enough that a normal answer never misses it on a loaded machine,
        // and far shorter than the slow first answers (cancelled when the client hangs up).
        let bench = try await IngestBench.start(count: 6, faults: FaultPlan(firstAttempts: [.slowResponse(milliseconds: 60_000)]))
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options(concurrency: 6, requestDeadline: .seconds(2)))
        #expect(summary.counts.stored == 6)
        #expect(summary.counts.retries == 6)
    }

    @Test func notFoundIsRecordedAndNotRetried() async throws {
        let bench = try await IngestBench.start(count: 10)
        defer { Task { await bench.stop() } }
        let missing = [bench.set.threatId(3), bench.set.threatId(7)]
        bench.mock.setFaults(FaultPlan(notFoundIDs: Set(missing)))
        let summary = try await bench.run(try bench.options())
        #expect(summary.status == .partial)
        #expect(summary.counts.stored == 8)
        #expect(summary.counts.notFound == 2)
        #expect(missing.allSatisfy { bench.mock.requestCount(forThreat: $0) == 1 })
        #expect(try bench.queueStates() == ["done": 8, "not_found": 2])
        let row = try bench.database().query("SELECT state, last_status, retryable FROM ingest_queue WHERE threat_id = ?", [.text(missing[0])])
        #expect(row == [["not_found", 404, 0]])
    }

    @Test func badRequestIsAFailureAndNotRetried() async throws {
        // Every ID's first request gets a 400; a retry would be answered normally.
        let bench = try await IngestBench.start(count: 4, faults: FaultPlan(firstAttempts: [.serverError(status: 400)]))
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options())
        #expect(summary.status == .partial)
        #expect(summary.counts.stored == 0)
        #expect(summary.counts.failed == 4)
        #expect(summary.counts.retries == 0)
        #expect(bench.mock.analysisRequests == 4)
        #expect(try bench.queueStates() == ["failed": 4])
        let rows = try bench.database().query("SELECT DISTINCT state, last_status, retryable FROM ingest_queue")
        #expect(rows == [["failed", 400, 0]])
    }

    @Test(arguments: [Fault.unauthorized, .forbidden])
    func authenticationFailureEndsTheRunAtOnce(fault: Fault) async throws {
        let bench = try await IngestBench.start(count: 200, faults: FaultPlan(everyRequest: fault))
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options(concurrency: 4))
        #expect(summary.status == .failed)
        #expect(summary.authenticationFailed)
        #expect(summary.message?.contains(fault == .unauthorized ? "check the API token" : "needs a role") == true)
        // It stops at once: no more requests than workers, nothing half-written, IDs stay pending.
        #expect(bench.mock.analysisRequests <= 4 + 4)
        #expect(try count(bench.database(), "threats") == 0)
        #expect(try bench.queueStates() == ["pending": 200])
        #expect(try bench.database().scalar("SELECT status FROM ingest_runs") == "failed")
    }

    @Test func wrongTokenIsAuthenticationFailureAndNeverLeaks() async throws {
        let bench = try await IngestBench.start(count: 5)
        defer { Task { await bench.stop() } }
        let secret = "WRONG-SECRET-\(UUID().uuidString)"
        let summary = try await bench.run(try bench.options(token: secret))
        #expect(summary.authenticationFailed)
        #expect(summary.message?.contains(secret) == false)
        for file in [bench.db, bench.db + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file)")
        }
    }

    @Test func inFlightRequestsNeverExceedTheConcurrency() async throws {
        let bench = try await IngestBench.start(count: 30, faults: FaultPlan(latencyMilliseconds: 300))
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options(concurrency: 5))
        #expect(summary.counts.stored == 30)
        // Never over the cap; and near it, so requests did overlap (exactly 5 needs all five
        // workers inside one 300 ms window, which a starved two-core machine does not promise).
        #expect((3...5).contains(bench.mock.peakInFlight), "peak \(bench.mock.peakInFlight)")
    }

    @Test func rateCapSpacesRequests() async throws {
        let bench = try await IngestBench.start(count: 11)
        defer { Task { await bench.stop() } }
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try await bench.run(try bench.options(concurrency: 8, rate: 20))
        #expect(summary.counts.stored == 11)
        // 11 requests at 20/s: the 11th starts 0.5 s after the first.
        #expect(clock.now - started >= .milliseconds(480))
    }

    @Test func gzipResponsesAreAccepted() async throws {
        let bench = try await IngestBench.start(count: 10, gzip: true)
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options())
        #expect(summary.counts.stored == 10)
        let body = try bench.database().scalar("SELECT body FROM raw_analyses LIMIT 1").textValue ?? ""
        #expect(body.hasPrefix("{\"data\""))
    }

    @Test func oversizedResponseIsAClearFailureNotRetried() async throws {
        let bench = try await IngestBench.start(count: 3)
        defer { Task { await bench.stop() } }
        let summary = try await bench.run(try bench.options(maxResponseBytes: 1024))
        #expect(summary.counts.failed == 3)
        #expect(summary.failures.first?.error.contains("larger than") == true)
        #expect((0..<3).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
    }

    @Test func exhaustedRetriesFailThenTheQueueRetriesThem() async throws {
        let bench = try await IngestBench.start(count: 5, faults: FaultPlan(firstAttempts: [.serverError(status: 502), .serverError(status: 502), .serverError(status: 502)]))
        defer { Task { await bench.stop() } }
        let first = try await bench.run(try bench.options(maxAttempts: 2))
        #expect(first.status == .partial)
        #expect(first.counts.failed == 5)
        #expect(try bench.queueStates() == ["failed": 5])
        #expect(try bench.database().scalar("SELECT last_status FROM ingest_queue LIMIT 1") == .integer(502))
        // `--queue` takes failures once their back-off (10 ms here) is over.
        try await Task.sleep(for: .milliseconds(100))
        let drained = try await bench.run(try bench.options(source: .queue))
        #expect(drained.status == .ok)
        #expect(drained.counts.stored == 5)
        #expect(try bench.queueStates() == ["done": 5])
        let runs = try RunRecords.recent(bench.database())
        #expect(runs.map(\.status) == [.ok, .partial])
        #expect(runs.first?.source == "queue")
    }

    @Test(.cpuExclusive) func unreachableConsoleFailsFastWithAClearMessage() async throws {
        let bench = try await IngestBench.start(count: 500)
        let options = try bench.options(concurrency: 4)
        await bench.stop()  // nothing listens on that port any more
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try await bench.run(options)
        #expect(summary.status == .failed)
        #expect(summary.message?.contains("cannot reach the console") == true)
        // It gives up after a few refused connections, not after 500 IDs times 5 attempts.
        #expect(clock.now - started < .seconds(60))
        #expect(summary.counts.requests <= 20, "\(summary.counts.requests) requests")
        #expect(try bench.queueStates()["pending"] ?? 0 > 400)
    }

    @Test func stopRequestFinishesInFlightAndLeavesTheRestPending() async throws {
        let bench = try await IngestBench.start(count: 400, faults: FaultPlan(latencyMilliseconds: 50))
        defer { Task { await bench.stop() } }
        let stop = StopRequest()
        let options = try bench.options(concurrency: 4)
        let mock = bench.mock
        Task {
            // Stop once the run is well under way, however slow the machine.
            while mock.analysisRequests < 20 { try await Task.sleep(for: .milliseconds(10)) }
            stop.request()
        }
        let summary = try await bench.run(options, stop: stop)
        #expect(summary.status == .aborted)
        #expect(summary.counts.stored > 0 && summary.counts.stored < 400)
        let states = try bench.queueStates()
        #expect(states["done"] == summary.counts.stored)
        #expect(states["pending"] == 400 - summary.counts.stored)
        #expect(try count(bench.database(), "threats") == Int64(summary.counts.stored))
    }

    @Test func badIdLinesAreReportedBeforeAnyRequestAndDuplicatesFetchedOnce() async throws {
        let bench = try await IngestBench.start(count: 3)
        defer { Task { await bench.stop() } }
        let ids = (0..<3).map(bench.set.threatId)
        let file = try bench.scratch.file("ids.txt", "\u{FEFF}# threats to pull\r\n\(ids[0])\r\n  \(ids[1])  # second\n\nnot-an-id\n\(ids[0])\n12345678901234567890123\n\(ids[2]),\(ids[1])\n\(ids[2])\n")
        var options = try bench.options()
        options.source = .idFile(file)
        let ingester = Ingester(options: options)
        var warnings: [String] = []
        ingester.onWarning = { warnings.append($0) }
        let summary = try await ingester.run()
        #expect(summary.counts.stored == 3)
        #expect(summary.duplicateIds == 1)
        #expect(summary.invalidLines.map(\.line) == [5, 7, 8])
        #expect(summary.status == .partial)
        #expect(warnings.contains { $0.contains("ids.txt:5") && $0.contains("not-an-id") })
        #expect(bench.mock.analysisRequests == 3)
    }
}
