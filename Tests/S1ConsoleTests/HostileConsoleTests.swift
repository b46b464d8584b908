import Foundation
import S1JSON
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// A console that answers oddly or with hostile text: redirects, unusable list items, its own
/// control characters or the token echoed back. None of it reaches a terminal raw, and the
/// token reaches no message, record or address shown.
@Suite struct HostileConsoleTests {
    @Test func aRedirectIsKeptForALaterRunWithItsLocationRedactedAndARunOfOnlyRedirectsFails() async throws {
        let location = "https://admin:hunter2@elsewhere.example/web/api?token=abc"
        let bench = try await IngestBench.start(count: 4, faults: FaultPlan(everyRequest: .redirect(status: 302, location: location)))
        let summary = try await bench.run(bench.options(concurrency: 2))
        let requests = bench.mock.analysisRequests
        await bench.stop()
        #expect(summary.status == .failed)
        #expect(summary.message?.contains("redirect") == true, "\(summary.message ?? "")")
        // Not retried in the run (the next attempt gets the same answer) ...
        #expect(requests == 4)
        // ... but kept for a later run, with the Location shown and its credentials and query not.
        let rows = try bench.database().query("SELECT state, retryable, next_attempt_at IS NOT NULL, last_error, last_status FROM ingest_queue")
        #expect(rows.count == 4)
        for row in rows {
            #expect(row[0] == .text("failed") && row[1] == .integer(1) && row[2] == .integer(1) && row[4] == .integer(302))
            let error = row[3].textValue ?? ""
            #expect(error.contains("302 redirect to https://[redacted]@elsewhere.example/web/api?[redacted]"), "\(error)")
            #expect(!error.contains("hunter2") && !error.contains("token=abc"))
        }
    }

    @Test func oneUnusableListItemIsSkippedAndCountedNotTheWholePage() throws {
        let endpoint = try ConsoleEndpoint(url: "https://console.example", token: "list-token-0123456789")
        let body = """
            {"data": [
              {"id": "111", "threatInfo": {"updatedAt": "2026-01-01T00:00:00Z"}},
              {"id": "not-a-number\\u001b[2J", "threatInfo": {"updatedAt": "2026-01-01T00:00:01Z"}},
              {"id": "list-token-0123456789", "threatInfo": {"updatedAt": "2026-01-01T00:00:01Z"}},
              {"id": "222", "threatInfo": {}},
              {"id": "333", "threatInfo": {"updatedAt": "2026-01-01T00:00:02Z"}}
            ], "pagination": {"nextCursor": null, "totalItems": 5}}
            """
        let result = ThreatLister.interpret(ConsoleResponse(status: 200, body: Array(body.utf8)), endpoint: endpoint, retryAfter: nil)
        guard case .success(let page) = result else {
            Issue.record("the page failed: \(result)")
            return
        }
        #expect(page.items.map(\.threatId) == ["111", "333"])
        #expect(page.skipped.count == 3)
        #expect(page.skipped.allSatisfy { !$0.contains("list-token-0123456789") }, "\(page.skipped)")
    }

    @Test func aBodyThatEchoesTheTokenAsItsThreatIdNeverShowsIt() throws {
        let token = "echoed-token-abcdef0123456789"
        let endpoint = try ConsoleEndpoint(url: "https://console.example", token: token)
        let body = #"{"data": {"threatInfo": {"threatId": "\#(token)"}, "agentRealtimeInfo": {}}}"#
        let result = AnalysisFetcher.interpret(ConsoleResponse(status: 200, body: Array(body.utf8)), threatId: "123",
                                               url: endpoint.analysisURL(threatId: "123"), endpoint: endpoint,
                                               retryAfter: nil, ingestedAt: "2026-01-01T00:00:00.000000Z")
        guard case .failure(let error) = result else {
            Issue.record("a body for another threat was accepted")
            return
        }
        // Refused as no threat ID at all, and the value is not quoted.
        #expect(!error.description.contains(token), "\(error)")
    }

    @Test func aTokenPastedIntoTheURLIsNotShownOrRecorded() throws {
        let token = "pasted-token-0123456789abcdef"
        let endpoint = try ConsoleEndpoint(url: "https://console.example/\(token)", token: token)
        #expect(endpoint.baseURL == "https://console.example/[redacted]")
        #expect(!"\(endpoint)".contains(token))
        // Requests still go where the user said.
        #expect(endpoint.analysisURL(threatId: "1").contains(token))
        let transport = FetchError.transport("GET https://console.example/\(token)/web failed").redacted(by: endpoint)
        #expect(!transport.description.contains(token))
    }

    @Test func plainHTTPToLocalhostConnectsToTheLoopbackAddressWithoutALookup() throws {
        for url in ["http://localhost:9", "http://LOCALHOST.:9/", "http://localhost."] {
            let endpoint = try ConsoleEndpoint(url: url, token: "t")
            #expect(endpoint.baseURL.hasPrefix("http://127.0.0.1"), "\(url) -> \(endpoint.baseURL)")
            #expect(endpoint.analysisURL(threatId: "1").hasPrefix("http://127.0.0.1"))
        }
        // https, and plain http that the user allowed, keep the name (certificates name hosts).
        #expect(try ConsoleEndpoint(url: "https://localhost:9", token: "t").baseURL == "https://localhost:9")
        #expect(try ConsoleEndpoint(url: "http://localhost:9", token: "t", allowInsecureHTTP: true).baseURL == "http://localhost:9")
    }

    @Test func controlCharactersAreShownEscapedInTablesAndTSVButNotInJSON() throws {
        let hostile = "EVIL\u{1B}[2J\u{07}\u{08}name\u{9B}31m"
        #expect(terminalSafe(hostile) == "EVIL\\x1b[2J\\x07\\x08name\\u{9b}31m")
        let table = TextTable(columns: ["name"], rows: [[.text(hostile)]]).render()
        #expect(!table.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x08 || $0.value == 0x9B })
        #expect(table.contains("EVIL\\x1b[2J"))
        #expect(jsonStringLiteral(hostile).contains("\\u001b"))
    }
}
