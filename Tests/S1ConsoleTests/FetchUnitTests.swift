import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct ConsoleEndpointTests {
    @Test func httpsRequiredExceptOnLoopbackOrWhenAllowed() throws {
        #expect(throws: ConsoleConfigurationError.insecureHTTP(host: "acme.sentinelone.net")) {
            _ = try ConsoleEndpoint(url: "http://acme.sentinelone.net", token: "t")
        }
        #expect(try ConsoleEndpoint(url: "http://127.0.0.1:8080/", token: "t").baseURL == "http://127.0.0.1:8080")
        // Plain http to localhost connects to 127.0.0.1 without a lookup (HostileConsoleTests).
        #expect(try ConsoleEndpoint(url: "http://localhost:1", token: "t").baseURL == "http://127.0.0.1:1")
        #expect(try ConsoleEndpoint(url: "http://acme.example", token: "t", allowInsecureHTTP: true).baseURL == "http://acme.example")
        #expect(try ConsoleEndpoint(url: "https://acme.sentinelone.net/", token: " t\n").analysisURL(threatId: "1")
                == "https://acme.sentinelone.net/web/api/v2.1/private/threats/1/analysis")
    }

    @Test func badSettingsSayWhatToChange() {
        #expect(throws: ConsoleConfigurationError.missingToken) { _ = try ConsoleEndpoint(url: "https://a.example", token: "  \n") }
        #expect(throws: ConsoleConfigurationError.credentialsInURL) { _ = try ConsoleEndpoint(url: "https://u:p@a.example", token: "t") }
        #expect(throws: ConsoleConfigurationError.malformedToken) { _ = try ConsoleEndpoint(url: "https://a.example", token: "a\nb") }
        #expect(throws: ConsoleConfigurationError.invalidURL("ftp://a.example")) { _ = try ConsoleEndpoint(url: "ftp://a.example", token: "t") }
        #expect(throws: ConsoleConfigurationError.invalidURL("acme")) { _ = try ConsoleEndpoint(url: "acme", token: "t") }
    }

    /// Printing settings in a log line or a debugger must not show the token.
    @Test func printingNeverShowsTheToken() throws {
        let token = "s3cr3t-token-value"
        let endpoint = try ConsoleEndpoint(url: "https://acme.sentinelone.net", token: token)
        let options = IngestOptions(databasePath: "t.sqlite", endpoint: endpoint, source: .queue)
        var dumped = ""
        dump(options, to: &dumped)
        for text in ["\(endpoint)", String(reflecting: endpoint), "\(options)", String(reflecting: options), dumped] {
            #expect(!text.contains(token), "\(text)")
            #expect(text.contains("https://acme.sentinelone.net"), "\(text)")
        }
    }
}

@Suite struct RetryPolicyTests {
    @Test func retryAfterSecondsAndDates() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryPolicy.parseRetryAfter("3", now: now) == .seconds(3))
        #expect(RetryPolicy.parseRetryAfter("0", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter("-5", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter(nil, now: now) == nil)
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now: now) == .seconds(10))
        #expect(RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:10 GMT", now: now) == nil)
    }

    @Test func backoffIsFullJitterUnderAnExponentialCeiling() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...6 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << (attempt - 1)))
            let delays = (0..<200).map { _ in policy.delay(afterAttempt: attempt, retryAfter: nil) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            #expect(delays.max()! > ceiling / 2, "full jitter reaches up to the ceiling")
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == .seconds(2))
    }

    @Test func errorsKnowWhetherToRetry() {
        #expect(FetchError.serverError(status: 503, detail: "").isRetryable)
        #expect(FetchError.rateLimited(retryAfter: nil).isRetryable)
        #expect(FetchError.transport("reset").isRetryable)
        #expect(FetchError.timeout("read").isRetryable)
        #expect(FetchError.malformedBody("truncated").isRetryable)
        #expect(!FetchError.notFound.isRetryable)
        #expect(!FetchError.rejected(status: 400, detail: "").isRetryable)
        #expect(FetchError.unauthorized(detail: "").endsRun)
        #expect(FetchError.forbidden(detail: "").endsRun)
        #expect(!FetchError.notFound.endsRun)
    }
}

@Suite struct ThreatIDListTests {
    @Test func parsesTolerantlyAndReportsLines() {
        let text = "\u{FEFF}# header\r\n1311010474425970168\r\n\n   1311010474425970169   \n1311010474425970168\nabc\n1,2\n123456789012345678901\n42 # trailing comment\n"
        let list = ThreatIDList.parse(Array(text.utf8))
        #expect(list.ids == ["1311010474425970168", "1311010474425970169", "42"])
        #expect(list.duplicates == 1)
        #expect(list.invalid.map(\.line) == [6, 7, 8])
        #expect(list.invalid[1].reason.contains("one ID per line"))
        #expect(list.invalid[2].reason.contains("21 digits"))
        #expect(ThreatIDList.parse([]).ids.isEmpty)
    }
}

@Suite struct BoundedChannelTests {
    @Test func deliversEverythingOnceToSeveralConsumersInOrderPerProducer() async {
        let channel = BoundedChannel<Int>(capacity: 3)
        let received = await withTaskGroup(of: [Int].self) { group in
            group.addTask {
                for value in 0..<1000 { await channel.send(value) }
                channel.finish()
                return []
            }
            for _ in 0..<4 {
                group.addTask {
                    var mine: [Int] = []
                    while let value = await channel.receive() { mine.append(value) }
                    return mine
                }
            }
            var all: [Int] = []
            for await part in group {
                #expect(part == part.sorted())
                all += part
            }
            return all
        }
        #expect(received.sorted() == Array(0..<1000))
        #expect(await channel.send(5) == false)
    }

    /// `receiveWaiting` takes what is there, at most `limit`, in order, without waiting, and
    /// makes room for a waiting sender.
    @Test func receiveWaitingTakesWhatIsThereWithoutWaiting() async {
        let channel = BoundedChannel<Int>(capacity: 3)
        #expect(channel.receiveWaiting(limit: 5).isEmpty)
        for value in 0 ..< 3 { await channel.send(value) }
        let sender = Task { await channel.send(3) }
        #expect(channel.receiveWaiting(limit: 2) == [0, 1])
        _ = await sender.value
        #expect(channel.receiveWaiting(limit: 5) == [2, 3])
        channel.finish()
        #expect(channel.receiveWaiting(limit: 5).isEmpty)
        #expect(await channel.receive() == nil)
    }
}

@Suite struct RequestThrottleTests {
    @Test func aBurstOf429sSlowsTheClientOnceAndPausesEveryone() async throws {
        let throttle = RequestThrottle(maxRate: 100)
        var starts: [ContinuousClock.Instant] = []
        for _ in 0..<4 { starts.append(try await throttle.acquire()) }
        // Four requests in flight all come back 429: one slow-down, not four.
        for start in starts { await throttle.rateLimited(retryAfter: .milliseconds(300), fallbackPause: .zero, requestStarted: start) }
        #expect(await throttle.slowdowns == 1)
        let slowed = try #require(await throttle.currentRate)
        #expect(slowed < 100 && slowed >= 50, "to just below what was accepted, not to half of it or less")
        let clock = ContinuousClock()
        let before = clock.now
        let next = try await throttle.acquire()
        #expect(next - before >= .milliseconds(280), "every worker waits out the Retry-After")
        // A lone 429 after the slow-down is tolerated: no pause, no slow-down ...
        #expect(await throttle.rateLimited(retryAfter: .seconds(5), fallbackPause: .zero, requestStarted: next) == .noise)
        #expect(await throttle.pauseRemaining == .zero)
        #expect(await throttle.slowdowns == 1)
        // ... a stream of them slows it again.
        var limited = 5
        while await throttle.slowdowns < 2, limited < 12 {
            let start = try await throttle.acquire()
            await throttle.rateLimited(retryAfter: nil, fallbackPause: .milliseconds(1), requestStarted: start)
            limited += 1
        }
        #expect(await throttle.slowdowns == 2)
        #expect(try #require(await throttle.currentRate) < slowed)
        #expect(await throttle.report.rateLimited == limited)
    }

    @Test func aCapIsAHardCeilingAndIsReached() {
        // 20 simulated seconds of requests as fast as the schedule allows, under `--rate 25`.
        var schedule = PacingSchedule(controller: PaceController(cap: 25))
        var starts: [Double] = []
        var now = 0.0
        while now < 20 {
            let start = schedule.nextStart(at: now)
            starts.append(start)
            schedule.accepted(startedAt: start, at: start + 0.05)
            now = start
        }
        var most = 0
        for (index, start) in starts.enumerated() {
            most = max(most, starts[index...].prefix { $0 < start + 1 }.count)
        }
        #expect(most <= 25, "never more than R requests in a second")
        #expect(Double(starts.count) / 20 >= 0.98 * 25)
    }

    @Test func underACapARequestThatBeganLateMovesTheNextOne() {
        // Against a bucket of one token, two requests must arrive 1 / budget apart: when one
        // begins late (a busy machine) and the next on time, they arrive too close. Under a
        // cap nothing says whether the bucket holds one token, so the next start moves to
        // 1 / pace after the late one (`scripts/bench-jitter.sh`: --rate 470 without it, a
        // tenth of the gaps between arrivals were under 0.9 / pace).
        var schedule = PacingSchedule(controller: PaceController(cap: 100))
        var now = 0.0
        for _ in 0..<20 {
            let reservation = schedule.reserve(at: now)
            let began = schedule.begin(reservation, at: reservation.start)
            #expect(began)
            now = reservation.start
        }
        let late = schedule.reserve(at: now)
        let began = late.start + 0.004
        let lateBegan = schedule.begin(late, at: began)
        #expect(lateBegan)
        let next = schedule.reserve(at: began)
        #expect(next.start >= began + 0.01 - 1e-9, "\(next.start) is less than 1 / pace after \(began)")
        // Never earlier than the cap allows, either.
        #expect(next.start >= late.start + 0.01)
    }

    @Test func aLearnedBudgetIsWhereTheNextRunStarts() {
        let fresh = PaceController(cap: nil)
        let resumed = PaceController(cap: nil, learned: 80)
        #expect(fresh.pace == fresh.tuning.initialPace)
        #expect(resumed.pace >= 0.9 * 80 && resumed.pace < 80)
        // A cap still wins.
        #expect(PaceController(cap: 20, learned: 80).pace == 20)
    }
}
