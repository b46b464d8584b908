import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct LoopbackAndURLRedactionTests {
    @Test func onlyRealLoopbackHostsMayUsePlainHTTP() throws {
        for url in ["http://127.0.0.1", "http://127.255.3.4:8080/", "http://LOCALHOST:9", "http://localhost.:9", "http://[::1]:8080"] {
            #expect(throws: Never.self, "\(url)") { _ = try ConsoleEndpoint(url: url, token: "t") }
        }
        for url in ["http://127.evil.example", "http://127.0.0.1.evil.example", "http://localhost.evil.example",
                    "http://127.1", "http://0127.0.0.1", "http://127.0.0.256", "http://127.00.0.1", "http://localhostx"] {
            #expect(throws: ConsoleConfigurationError.self, "\(url)") { _ = try ConsoleEndpoint(url: url, token: "t") }
        }
        #expect(ConsoleEndpoint.isLoopback("::1"))
        #expect(ConsoleEndpoint.isLoopback("[::1]"))
        #expect(!ConsoleEndpoint.isLoopback("[::2]"))
        #expect(!ConsoleEndpoint.isLoopback("127.evil.example"))
        #expect(!ConsoleEndpoint.isLoopback("127.0.0.1."))
    }

    @Test func errorMessagesNeverRepeatCredentialsOrQueries() {
        for url in ["ftp://alice:s3cr3t@a.example/x?token=abc123", "https://alice:s3/cr3t@?token=abc123", "alice:s3cr3t@ host?token=abc123"] {
            do {
                _ = try ConsoleEndpoint(url: url, token: "t")
                Issue.record("\(url) was accepted")
            } catch {
                #expect(!error.description.contains("s3"), "\(error)")
                #expect(!error.description.contains("abc123"), "\(error)")
            }
        }
        #expect(ConsoleEndpoint.redactedURL("ftp://u:p@a.example/x?q=1#f") == "ftp://[redacted]@a.example/x?[redacted]")
        #expect(ConsoleEndpoint.redactedURL("acme") == "acme")
    }
}

@Suite struct RetryAfterBoundsTests {
    @Test func absurdValuesNeitherCrashNorParkTheClient() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        for value in ["inf", "-inf", "nan", "1e30", "-5", "1.5", "+3", "0x10", " ", "0", "000"] {
            #expect(RetryPolicy.parseRetryAfter(value, now: now) == nil, "\(value)")
        }
        #expect(RetryPolicy.parseRetryAfter("7", now: now) == .seconds(7))
        #expect(RetryPolicy.parseRetryAfter("1000", now: now) == RetryPolicy.maxRetryAfter)
        #expect(RetryPolicy.parseRetryAfter("99999999999999999999999999", now: now) == RetryPolicy.maxRetryAfter)
        #expect(RetryPolicy.parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetryPolicy.maxRetryAfter)
    }

    @Test func laterRunsWaitForTheBackoffCeilingOrTheConsole() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(1), maxDelay: .seconds(10))
        #expect(policy.laterRunDelay(afterAttempt: 3, retryAfter: nil) == .seconds(4))
        #expect(policy.laterRunDelay(afterAttempt: 9, retryAfter: nil) == .seconds(10))
        #expect(policy.laterRunDelay(afterAttempt: 1, retryAfter: .seconds(7)) == .seconds(7))
    }

    @Test func the429PauseIsCapped() async {
        // (Paced from a learned budget: an unpaced start's first 429 pauses no one.)
        let throttle = RequestThrottle(maxRate: nil, learnedBudget: 10)
        let started = ContinuousClock.now
        await throttle.rateLimited(retryAfter: .seconds(1_000_000_000), fallbackPause: .zero, requestStarted: started)
        #expect(await throttle.pauseRemaining <= RetryPolicy.maxRetryAfter)
        #expect(await throttle.pauseRemaining > .seconds(100))
        let other = RequestThrottle(maxRate: nil, learnedBudget: 10)
        await other.rateLimited(retryAfter: nil, fallbackPause: .seconds(1_000_000_000), requestStarted: started)
        #expect(await other.pauseRemaining <= RetryPolicy.maxRetryAfter)
    }
}

@Suite struct StopRequestTests {
    @Test func sleepsEndWhenTheStopIsRequested() async {
        let stop = StopRequest()
        #expect(await stop.sleep(for: .milliseconds(20)))
        let clock = ContinuousClock()
        let started = clock.now
        Task {
            try await Task.sleep(for: .milliseconds(100))
            stop.request()
        }
        #expect(await stop.sleep(for: .seconds(300)) == false)
        #expect(clock.now - started < .seconds(30))
        // Once requested, waits end at once.
        #expect(await stop.sleep(for: .seconds(300)) == false)
        let ran = CallTally()
        #expect(stop.onRequest { ran.add() } == nil)
        #expect(ran.value == 1)
    }

    @Test(.cpuExclusive) func aPausedThrottleAndABackoffBothEndOnStop() async throws {
        // Nothing listens on port 1: every attempt is a refused connection, retried after a long back-off.
        let client = try ConsoleClient(endpoint: ConsoleEndpoint(url: "http://127.0.0.1:1", token: "t"), settings: ConsoleClientSettings(connectTimeout: .seconds(1)))
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(100), maxDelay: .seconds(100))
        let clock = ContinuousClock()

        let paused = RequestThrottle(maxRate: nil, learnedBudget: 10)
        await paused.rateLimited(retryAfter: .seconds(100), fallbackPause: .zero, requestStarted: clock.now)
        let waiting = StopRequest()
        let started = clock.now
        Task {
            try await Task.sleep(for: .milliseconds(200))
            waiting.request()
        }
        let cut = await AnalysisFetcher(client: client, retry: policy, throttle: paused).fetch("1", ingestedAt: "", stop: waiting)
        #expect(cut.stopped && cut.attempts == 0 && cut.error == nil)
        #expect(clock.now - started < .seconds(30))

        let backingOff = StopRequest()
        let fetcher = AnalysisFetcher(client: client, retry: policy, throttle: RequestThrottle(maxRate: nil))
        let again = clock.now
        Task {
            try await Task.sleep(for: .milliseconds(500))
            backingOff.request()
        }
        let retrying = await fetcher.fetch("1", ingestedAt: "", stop: backingOff)
        await client.shutdown()
        #expect(retrying.stopped && retrying.attempts >= 1)
        #expect(clock.now - again < .seconds(30))
    }
}

@Suite struct ErrorBodyRedactionTests {
    static let token = "eyJraWQiOiJ0b2tlbi1zZWNyZXQtMTIzNDU2Nzg5MCJ9.SECRETPART"

    static func endpoint() throws -> ConsoleEndpoint { try ConsoleEndpoint(url: "https://a.example", token: token) }

    @Test func theTokenNeverSurvivesInAnEchoedBody() throws {
        let endpoint = try Self.endpoint()
        // The token straddles the 200-byte cut: not even its start may remain.
        let plain = String(repeating: "x", count: 190) + "Authorization: ApiToken \(Self.token) rest"
        let json = #"{"errors":[{"code":5000010,"title":"Server Error","detail":"bad header ApiToken \#(Self.token)"}]}"#
        for body in [plain, json, Self.token] {
            let detail = ConsoleResponse(status: 500, body: Array(body.utf8)).errorDetail(redactingTokenOf: endpoint)
            #expect(!detail.contains("eyJraWQ"), "\(detail)")
            #expect(!detail.contains("SECRETPART"), "\(detail)")
        }
        #expect(ConsoleResponse(status: 500, body: Array(json.utf8)).errorDetail(redactingTokenOf: endpoint).contains("[redacted]"))
    }

    @Test(arguments: [200, 401, 403, 400, 503])
    func everyErrorOfAResponseIsRedacted(status: Int) throws {
        let endpoint = try Self.endpoint()
        let body = #"{"errors":[{"code":1,"title":"token \#(Self.token) refused"}]}"#
        let result = AnalysisFetcher.interpret(ConsoleResponse(status: status, body: Array(body.utf8)), threatId: "1",
                                               url: endpoint.analysisURL(threatId: "1"), endpoint: endpoint, retryAfter: nil, ingestedAt: "")
        guard case .failure(let error) = result else { Issue.record("\(status) gave an analysis"); return }
        #expect(!error.description.contains(Self.token), "\(error)")
        #expect(error.description.contains("[redacted]"), "\(error)")
    }
}

import Synchronization

/// A thread-safe tally for callbacks.
private final class CallTally: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
