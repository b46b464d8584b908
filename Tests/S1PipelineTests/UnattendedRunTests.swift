import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// What a run left alone at night must do against a console that trickles, hangs, or is not
/// there: one deadline per request, stops that end within the grace, a prompt and plain
/// "cannot reach", and run records that say what was committed.
@Suite(.timeLimit(.minutes(3)), .cpuExclusive) struct UnattendedRunTests {
    /// A URL on which nothing listens (held closed for the whole test process).
    static func closedPortURL(scheme: String = "http") async throws -> String {
        ClosedPort.url(scheme: scheme)
    }

    @Test func aBodyTrickledByteByByteIsCutAtTheRequestDeadline() async throws {
        // One byte every 100 ms never trips the read timeout, so only a deadline that
        // covers the whole body ends these requests.
        let bench = try await IngestBench.start(count: 3, faults: FaultPlan(everyRequest: .trickleBody(intervalMilliseconds: 100)))
        var options = try bench.options(concurrency: 3, maxAttempts: 1, requestDeadline: .seconds(1))
        options.client.readTimeout = .seconds(5)
        let started = ContinuousClock.now
        let summary = try await bench.run(options)
        let elapsed = ContinuousClock.now - started
        await bench.stop()
        // Without the deadline these bodies take minutes (a byte every 100 ms); the slack is
        // for a machine busy with other suites.
        #expect(elapsed < .seconds(40), "took \(elapsed)")
        #expect(summary.counts.stored == 0)
        #expect(summary.counts.failed == 3)
        #expect(summary.failures.allSatisfy { $0.error.contains("request timeout (1 s)") }, "\(summary.failures)")
    }

    @Test func aTrickledThreatListIsCutAtTheRequestDeadline() async throws {
        let bench = try await IngestBench.start(count: 5, faults: FaultPlan(everyRequest: .trickleBody(intervalMilliseconds: 100)))
        var options = try bench.syncOptions()
        options.client.requestDeadline = .seconds(1)
        options.retry = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
        let started = ContinuousClock.now
        let summary = try await bench.sync(options)
        let elapsed = ContinuousClock.now - started
        await bench.stop()
        // Without the deadline these bodies take minutes (a byte every 100 ms); the slack is
        // for a machine busy with other suites.
        #expect(elapsed < .seconds(40), "took \(elapsed)")
        #expect(summary.status == .failed)
        #expect(summary.message?.contains("request timeout") == true, "\(summary.message ?? "")")
    }

    @Test func aStopCancelsHangingRequestsAfterTheGraceAndLeavesTheirIDsPending() async throws {
        let bench = try await IngestBench.start(count: 40, faults: FaultPlan(everyRequest: .slowResponse(milliseconds: 300_000)))
        var options = try bench.options(concurrency: 4, requestDeadline: .seconds(400))
        options.stopGrace = .seconds(1)
        let stop = StopRequest()
        let ingester = Ingester(options: options)
        async let run = ingester.run(stop: stop)
        #expect(await waitUntil(seconds: 20) { bench.mock.inFlight == 4 })
        let stopped = ContinuousClock.now
        stop.request()
        let summary = try await run
        let elapsed = ContinuousClock.now - stopped
        await bench.stop()
        // 1 s of grace; the rest is slack for a machine busy with other suites (the requests
        // would hang for 300 s, the deadline is 400 s).
        #expect(elapsed < .seconds(40), "the stop took \(elapsed)")
        #expect(summary.status == .aborted)
        #expect(summary.counts.stored == 0 && summary.counts.failed == 0)
        #expect(try bench.queueStates() == ["pending": 40])
        let record = try RunRecords.recent(bench.database(), limit: 1).first
        #expect(record?.status == .aborted)
        #expect(record?.counts.requests == 4)
    }

    @Test func aStopWhileTheConsoleIsUnreachableEndsTheRunAtOnce() async throws {
        let url = try await Self.closedPortURL()
        let bench = try await IngestBench.start(count: 1000)
        var options = try bench.options(concurrency: 2)
        options.endpoint = try ConsoleEndpoint(url: url, token: bench.token)
        // Long back-offs: the workers wait between attempts while the feeder waits for room.
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(60), maxDelay: .seconds(120))
        let stop = StopRequest()
        let ingester = Ingester(options: options)
        async let run = ingester.run(stop: stop)
        try await Task.sleep(for: .milliseconds(700))
        let stopped = ContinuousClock.now
        stop.request()
        let summary = try await run
        let elapsed = ContinuousClock.now - stopped
        await bench.stop()
        // The stop ended it (`aborted`; the give-up on an unreachable console would say `failed`),
        // far before the back-off ends (60 s). Alone it takes milliseconds; in a full parallel
        // test run on two cores the other suites' blocking calls can hold the task pool for
        // seconds (8.9 s once), so the bound leaves room for that.
        #expect(elapsed < .seconds(20), "the stop took \(elapsed)")
        #expect(summary.status == .aborted)
        #expect(try bench.queueStates() == ["pending": 1000])
    }

    @Test func aConsoleThatRefusesEveryConnectionIsGivenUpOnWithOnePlainMessage() async throws {
        let url = try await Self.closedPortURL()
        let bench = try await IngestBench.start(count: 50)
        var options = try bench.options(concurrency: 4)
        options.endpoint = try ConsoleEndpoint(url: url, token: bench.token)
        // The default back-off: 5 attempts an ID, up to 8 s between the last two.
        options.retry = RetryPolicy()
        let started = ContinuousClock.now
        let summary = try await bench.run(options)
        let elapsed = ContinuousClock.now - started
        await bench.stop()
        // Alone it gives up in 2-5 s; in a full parallel run on two cores it once took 27 s.
        // Without the give-up, 5 attempts for each of 50 IDs at C=4 take minutes.
        #expect(elapsed < .seconds(45), "gave up after \(elapsed)")
        #expect(summary.status == .failed)
        let message = summary.message ?? ""
        #expect(message.contains("cannot reach the console at \(url)") && message.contains("connection refused"), "\(message)")
        #expect(message.contains("check the console URL"), "\(message)")
        // Nothing was tried for real: every ID stays pending, none is marked failed.
        #expect(summary.counts.failed == 0)
        #expect(try bench.queueStates() == ["pending": 50])
    }

    @Test func httpsToAPlainHTTPPortSaysSoWithoutTheTLSLibrarysInternals() async throws {
        let bench = try await IngestBench.start(count: 3)
        var options = try bench.options(concurrency: 2)
        options.endpoint = try ConsoleEndpoint(url: bench.mock.baseURL.replacingOccurrences(of: "http://", with: "https://"),
                                               token: bench.token)
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(200), maxDelay: .seconds(2))
        let summary = try await bench.run(options)
        await bench.stop()
        #expect(summary.status == .failed)
        let message = summary.message ?? ""
        #expect(message.contains("did not answer with TLS"), "\(message)")
        #expect(!message.contains(".cc:") && !message.contains(" at /") && !message.contains("BoringSSL"), "\(message)")
    }

    @Test func progressGoesOnWhileNothingSucceedsAndNamesTheLastError() async throws {
        // A console that answers every request with 503: nothing finishes for a while, yet
        // progress keeps coming with the retries and the error they get.
        let bench = try await IngestBench.start(count: 6, faults: FaultPlan(everyRequest: .serverError(status: 503)))
        var options = try bench.options(concurrency: 2)
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(400), maxDelay: .seconds(2))
        let seen = ProgressLog()
        let ingester = Ingester(options: options)
        ingester.onProgress = { seen.append($0) }
        _ = try await ingester.run()
        await bench.stop()
        let reports = seen.all
        #expect(reports.contains { $0.done == 0 && $0.retries > 0 && $0.lastError?.contains("503") == true },
                "\(reports.map { ($0.done, $0.retries, $0.lastError ?? "-") })")
    }

    @Test func aKilledRunsRecordShowsWhatItCommitted() async throws {
        // About 200 analyses a second (20 ms each, 4 at a time): the run lasts seconds, and
        // progress (every 500 ms) stops it part-way.
        let bench = try await IngestBench.start(count: 800, faults: FaultPlan(latencyMilliseconds: 20))
        var options = try bench.options(concurrency: 4)
        options.batchSize = 50
        options.commitInterval = .seconds(60)
        let stop = StopRequest()
        let ingester = Ingester(options: options)
        ingester.onProgress = { if $0.stored >= 120 { stop.request() } }
        // Read the record while the run goes on: its counts are those of the commits so far.
        let observed = ProgressLog()
        let watcher = Task {
            while !Task.isCancelled {
                if let database = try? StoreOpener.openForReading(path: bench.db),
                   let row = try? database.query("SELECT stored, (SELECT count(*) FROM ingest_queue WHERE state = 'done') FROM ingest_runs WHERE status = 'running'").first,
                   let stored = row[0].integerValue, let done = row[1].integerValue, stored > 0 {
                    observed.append(IngestProgress(done: Int(done), total: 0, stored: Int(stored), errors: 0, retries: 0, elapsedSeconds: 0))
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let summary = try await ingester.run(stop: stop)
        watcher.cancel()
        await bench.stop()
        #expect(summary.status == .aborted)
        let readings = observed.all
        #expect(!readings.isEmpty, "no committed counts were seen while the run went on")
        // A reading is one snapshot of the database: the recorded count is the committed one.
        #expect(readings.allSatisfy { $0.stored == $0.done }, "\(readings.prefix(5).map { ($0.stored, $0.done) })")
        let record = try RunRecords.recent(bench.database(), limit: 1).first
        #expect(record?.counts.stored == summary.counts.stored)
    }
}

/// Progress reports collected from another task.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [IngestProgress] = []

    func append(_ report: IngestProgress) { lock.withLock { reports.append(report) } }

    var all: [IngestProgress] { lock.withLock { reports } }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func waitUntil(seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
