import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import S1MockConsole
import S1Testing

@Suite struct FaultTests {
    let analyses = SyntheticAnalyses(count: 30, seed: 5)

    @Test func firstAttemptsAreAppliedPerThreatInOrder() async throws {
        var faults = FaultPlan()
        faults.firstAttempts = [.tooManyRequests(retryAfter: .seconds(2)), .serverError(status: 500)]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let id = analyses.threatId(4)
            let first = try await get(client, console.analysisURL(id))
            #expect(first.status == 429)
            #expect(first.headers.first(name: "Retry-After") == "2")
            #expect(try first.errorCode() == 4_290_010)
            let second = try await get(client, console.analysisURL(id))
            #expect(second.status == 500)
            #expect(try second.errorCode() == 5_000_010)
            let third = try await get(client, console.analysisURL(id))
            #expect(third.status == 200)
            #expect(third.text == analyses.body(4))
            #expect(try await get(client, console.analysisURL(id)).status == 200)
            #expect(console.requestCount(forThreat: id) == 4)
            // Each threat has its own sequence.
            let other = analyses.threatId(5)
            #expect(try await get(client, console.analysisURL(other)).status == 429)
            #expect(console.requestCount(forThreat: other) == 1)
            #expect(console.analysisRequests == 5)
        }
    }

    @Test func arrivalsAreRecordedOnePerAuthorizedRequestWithOrWithoutALimit() async throws {
        // What scripts/bench-jitter.sh replays: each request that reached the rate limit, in
        // nanoseconds since the console started, in order; not the one refused for its token.
        let directory = try TemporaryDirectory()
        var configuration = MockConsoleConfiguration(analyses: analyses, token: "t")
        configuration.arrivalsFile = directory.path("arrivals.txt")
        try await withConsole(configuration) { console, client in
            let authorized = [("Authorization", "ApiToken t")]
            let first = try await get(client, console.analysisURL(analyses.threatId(1)), headers: authorized)
            let refused = try await get(client, console.analysisURL(analyses.threatId(2)))
            let second = try await get(client, console.analysisURL(analyses.threatId(3)), headers: authorized)
            let list = try await get(client, console.listURL("limit=1"), headers: authorized)
            let statuses: [Int] = [first.status, refused.status, second.status, list.status]
            #expect(statuses == [200, 401, 200, 200])
        }
        let lines = try String(contentsOfFile: directory.path("arrivals.txt"), encoding: .utf8).split(separator: "\n")
        let times = lines.compactMap { Int64($0) }
        #expect(times.count == 3 && lines.count == 3, "\(lines)")
        let sorted: [Int64] = times.sorted()
        #expect(times == sorted)
        #expect(times.allSatisfy { $0 >= 0 })

        // A file that cannot be created fails the start, saying which and why.
        var unwritable = MockConsoleConfiguration(analyses: analyses)
        unwritable.arrivalsFile = directory.path("missing/arrivals.txt")
        await #expect { try await MockConsole.start(unwritable) } throws: { error in
            "\(error)".contains("missing/arrivals.txt") && "\(error)".contains("No such file")
        }
    }

    @Test func aTokenBucketLimitsAnalysisAndListRequestsTogether() async throws {
        var faults = FaultPlan()
        // A token every 100 s: no refill during the test, however loaded the machine (the
        // refill itself is checked on the clock in InternalsTests).
        faults.rateLimit = TokenBucketLimit(rate: 0.01, burst: 3, retryAfter: .seconds(1))
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            // A full bucket: three requests at once pass (one of them a list request), the
            // fourth finds it empty.
            #expect(try await get(client, console.analysisURL(analyses.threatId(1))).status == 200)
            #expect(try await get(client, console.listURL("limit=5")).status == 200)
            #expect(try await get(client, console.analysisURL(analyses.threatId(2))).status == 200)
            let limited = try await get(client, console.analysisURL(analyses.threatId(3)))
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "Retry-After") == "1")
            #expect(try limited.errorCode() == 4_290_010)
            #expect(try await get(client, console.listURL("limit=5")).status == 429)
            #expect(console.rateLimitedRequests == 2)
            // Without Retry-After when configured so (a new limit starts with a full bucket).
            var quiet = faults
            quiet.rateLimit = TokenBucketLimit(rate: 0.01, burst: 1, retryAfter: nil)
            console.setFaults(quiet)
            #expect(try await get(client, console.analysisURL(analyses.threatId(4))).status == 200)
            let bare = try await get(client, console.analysisURL(analyses.threatId(5)))
            #expect(bare.status == 429)
            #expect(bare.headers.first(name: "Retry-After") == nil)
        }
    }

    @Test func retryAfterAsHTTPDate() async throws {
        var faults = FaultPlan()
        faults.firstAttempts = [.tooManyRequests(retryAfter: .httpDate(secondsFromNow: 120)), .tooManyRequests(retryAfter: .raw("soon"))]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let fetched = try await get(client, console.analysisURL(analyses.threatId(1)))
            #expect(fetched.status == 429)
            let value = try #require(fetched.headers.first(name: "Retry-After"))
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let date = try #require(formatter.date(from: value), "not an IMF-fixdate: \(value)")
            let delta = date.timeIntervalSinceNow
            #expect(delta > 110 && delta < 125, "Retry-After \(value) is \(delta) s away")
            #expect(formatter.string(from: date) == value)
            let raw = try await get(client, console.analysisURL(analyses.threatId(1)))
            #expect(raw.headers.first(name: "Retry-After") == "soon")
        }
    }

    @Test func dropConnectionIsAConnectionError() async throws {
        var faults = FaultPlan()
        faults.everyRequest = .dropConnection
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let id = analyses.threatId(3)
            await #expect(throws: (any Error).self) {
                _ = try await get(client, console.analysisURL(id), timeout: .seconds(5))
            }
            #expect(console.requestCount(forThreat: id) >= 1)
            #expect(console.inFlight == 0)
            console.setFaults(FaultPlan())
            let after = try await get(client, console.analysisURL(id))
            #expect(after.status == 200)
        }
    }

    @Test func truncatedBodyIsAnErrorOrShort() async throws {
        var faults = FaultPlan()
        faults.firstAttempts = [.truncatedBody]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let id = analyses.threatId(6)
            let full = analyses.body(6).utf8.count
            do {
                let fetched = try await get(client, console.analysisURL(id), timeout: .seconds(5))
                #expect(fetched.body.count < full, "a truncated body arrived whole")
            } catch {
                // The client noticed the connection closing before Content-Length bytes.
            }
            let next = try await get(client, console.analysisURL(id))
            #expect(next.status == 200)
            #expect(next.body.count == full)
            #expect(console.inFlight == 0)
        }
    }

    @Test func malformedBodyIsNotJSON() async throws {
        var faults = FaultPlan()
        faults.firstAttempts = [.malformedBody]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let fetched = try await get(client, console.analysisURL(analyses.threatId(2)))
            #expect(fetched.status == 200)
            #expect(!fetched.body.isEmpty)
            #expect(throws: (any Error).self) { _ = try JSONSerialization.jsonObject(with: Data(fetched.body)) }
        }
    }

    @Test func slowResponseTripsAClientTimeout() async throws {
        var faults = FaultPlan()
        faults.firstAttempts = [.slowResponse(milliseconds: 120_000)]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let id = analyses.threatId(8)
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: HTTPClientError.self) {
                _ = try await get(client, console.analysisURL(id), timeout: .milliseconds(300))
            }
            // Far sooner than the 120 s the console would have taken. Generous: with every suite
            // running in parallel on two cores, 9.5 s has been seen for this 300 ms timeout.
            #expect(clock.now - start < .seconds(60))
            // The second attempt is answered at once.
            let fetched = try await get(client, console.analysisURL(id), timeout: .seconds(5))
            #expect(fetched.status == 200)
            #expect(console.requestCount(forThreat: id) == 2)
        }
    }

    @Test func slowResponseAnswersCorrectlyWhenWaitedFor() async throws {
        var faults = FaultPlan()
        faults.everyRequest = .slowResponse(milliseconds: 250)
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let clock = ContinuousClock()
            let start = clock.now
            let fetched = try await get(client, console.analysisURL(analyses.threatId(9)))
            #expect(clock.now - start >= .milliseconds(250))
            #expect(fetched.text == analyses.body(9))
        }
    }

    @Test func unauthorizedAndForbiddenFaults() async throws {
        var faults = FaultPlan()
        faults.everyRequest = .unauthorized
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let unauthorized = try await get(client, console.analysisURL(analyses.threatId(0)))
            #expect(unauthorized.status == 401)
            #expect(try unauthorized.errorCode() == 4_010_010)
            let list = try await get(client, console.listURL("limit=5"))
            #expect(list.status == 401)
            #expect(console.listRequests == 1)
            faults.everyRequest = .forbidden
            console.setFaults(faults)
            let forbidden = try await get(client, console.analysisURL(analyses.threatId(0)))
            #expect(forbidden.status == 403)
            #expect(try forbidden.errorCode() == 4_030_010)
            let title = (try forbidden.json()["errors"] as? [[String: Any]])?.first?["title"] as? String
            #expect(title == "Insufficient Permissions")
        }
    }

    @Test func randomFaultsAreReproducible() async throws {
        var faults = FaultPlan()
        faults.randomFaults = [(fault: .serverError(status: 503), probability: 0.5)]
        faults.seed = 42
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            func statuses() async throws -> [Int] {
                var result: [Int] = []
                for index in 0..<analyses.count {
                    result.append(try await get(client, console.analysisURL(analyses.threatId(index))).status)
                }
                return result
            }
            let first = try await statuses()
            #expect(Set(first) == [200, 503])
            #expect(first.filter { $0 == 503 }.count > 3 && first.filter { $0 == 503 }.count < 27)
            console.resetStatistics()
            #expect(try await statuses() == first)
        }
    }
}
