import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import S1Testing
import S1MockConsole

@Suite struct AnalysisEndpointTests {
    @Test func analysisBodyParsesAndHasTheThreatId() async throws {
        let analyses = SyntheticAnalyses(count: 20, seed: 3)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let id = analyses.threatId(7)
            let fetched = try await get(client, console.analysisURL(id))
            #expect(fetched.status == 200)
            #expect(fetched.headers.first(name: "Content-Type") == "application/json")
            let data = try #require(try fetched.json()["data"] as? [String: Any])
            let threatInfo = try #require(data["threatInfo"] as? [String: Any])
            #expect(threatInfo["threatId"] as? String == id)
            #expect(fetched.text == analyses.body(7))
            #expect(console.requestCount(forThreat: id) == 1)
            #expect(console.analysisRequests == 1)
            #expect(console.inFlight == 0)
        }
    }

    @Test func unknownThreatIsNotFound() async throws {
        let analyses = SyntheticAnalyses(count: 20)
        var faults = FaultPlan()
        faults.notFoundIDs = [analyses.threatId(2)]
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            for id in [analyses.threatId(20), "12345", analyses.threatId(2)] {
                let fetched = try await get(client, console.analysisURL(id))
                #expect(fetched.status == 404, "\(id)")
                #expect(try fetched.errorCode() == 4_040_010, "\(id)")
            }
            let other = try await get(client, "\(console.baseURL)/web/api/v2.1/nothing-here")
            #expect(other.status == 404)
            #expect(try other.errorCode() == 4_040_010)
            #expect(try await get(client, console.analysisURL(analyses.threatId(3))).status == 200)
        }
    }

    @Test func tokenIsRequiredWhenConfigured() async throws {
        let analyses = SyntheticAnalyses(count: 5)
        let configuration = MockConsoleConfiguration(analyses: analyses, token: "s3cr3t-token")
        try await withConsole(configuration) { console, client in
            let url = console.analysisURL(analyses.threatId(1))
            let missing = try await get(client, url)
            #expect(missing.status == 401)
            #expect(try missing.errorCode() == 4_010_010)
            let wrong = try await get(client, url, headers: [("Authorization", "ApiToken nope")])
            #expect(wrong.status == 401)
            let bearer = try await get(client, url, headers: [("Authorization", "Bearer s3cr3t-token")])
            #expect(bearer.status == 401)
            for scheme in ["ApiToken", "APIToken", "apitoken"] {
                let right = try await get(client, url, headers: [("Authorization", "\(scheme) s3cr3t-token")])
                #expect(right.status == 200, "\(scheme)")
            }
            let list = try await get(client, console.listURL("limit=1"))
            #expect(list.status == 401)
            let listWithToken = try await get(client, console.listURL("limit=1"), headers: [("Authorization", "ApiToken s3cr3t-token")])
            #expect(listWithToken.status == 200)
        }
    }

    @Test(.cpuExclusive) func latencyDelaysEveryResponse() async throws {
        var faults = FaultPlan()
        faults.latencyMilliseconds = 300
        let analyses = SyntheticAnalyses(count: 5)
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let clock = ContinuousClock()
            let start = clock.now
            let fetched = try await get(client, console.analysisURL(analyses.threatId(0)))
            let elapsed = clock.now - start
            #expect(fetched.status == 200)
            #expect(elapsed >= .milliseconds(300))
            // Not delayed over and over: generous, as a loaded 2-core machine running the
            // other suites in parallel has been seen to take 4.8 s here.
            #expect(elapsed < .seconds(10))
            let listStart = clock.now
            _ = try await get(client, console.listURL("limit=2"))
            #expect(clock.now - listStart >= .milliseconds(300))
        }
    }

    @Test func peakInFlightCountsConcurrentRequests() async throws {
        var faults = FaultPlan()
        faults.latencyMilliseconds = 1_500  // all eight overlap even when tasks start late under load
        let analyses = SyntheticAnalyses(count: 50)
        try await withConsole(MockConsoleConfiguration(analyses: analyses, faults: faults)) { console, client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask { try await get(client, console.analysisURL(analyses.threatId(index))).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            #expect(console.peakInFlight == 8)
            #expect(console.inFlight == 0)
            #expect(console.analysisRequests == 8)
            console.resetStatistics()
            #expect(console.peakInFlight == 0)
            #expect(console.analysisRequests == 0)
            #expect(console.requestCount(forThreat: analyses.threatId(0)) == 0)
        }
    }

    @Test func gzipWhenAsked() async throws {
        let analyses = SyntheticAnalyses(count: 5)
        var configuration = MockConsoleConfiguration(analyses: analyses)
        configuration.gzip = true
        try await withConsole(configuration) { console, client in
            let url = console.analysisURL(analyses.threatId(2))
            let zipped = try await get(client, url, headers: [("Accept-Encoding", "gzip")])
            #expect(zipped.status == 200)
            #expect(zipped.headers.first(name: "Content-Encoding") == "gzip")
            #expect(Array(zipped.body.prefix(2)) == [0x1F, 0x8B])
            #expect(zipped.body.count < analyses.body(2).utf8.count)
            let plain = try await get(client, url)
            #expect(plain.headers.first(name: "Content-Encoding") == nil)
            #expect(plain.text == analyses.body(2))
        }
        // A client that decompresses gets the same body back.
        var decompressing = HTTPClient.Configuration()
        decompressing.decompression = .enabled(limit: .none)
        try await withConsole(configuration, clientConfiguration: decompressing) { console, client in
            let fetched = try await get(client, console.analysisURL(analyses.threatId(2)), headers: [("Accept-Encoding", "gzip")])
            #expect(fetched.text == analyses.body(2))
        }
    }
}
