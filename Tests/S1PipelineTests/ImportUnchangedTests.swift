import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

/// "Unchanged" means the same analysis, not the same bytes (issue 11, item 3).
@Suite struct ImportUnchangedTests {
    @Test func captureAndTheSameCaptureInsideSwimlaneOutputAreOneAnalysis() async throws {
        let scratch = try TemporaryDirectory()
        let db = scratch.path("u.sqlite")
        let capture = Fixture.path(Fixture.capture2022)
        let swimlane = Fixture.path(Fixture.swimlaneOutput)
        let first = try await importFiles([capture], into: db)
        #expect(first.outcomes[.inserted] == 1)
        let original = try String(contentsOfFile: capture, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for run in 1...3 {
            // The same body with other white space (inside the Swimlane output), and as sent.
            let summary = try await importFiles([swimlane, capture], into: db)
            #expect(summary.outcomes[.unchanged] == 2, "run \(run): \(summary.outcomes)")
            #expect(summary.outcomes[.updated] == nil, "run \(run): \(summary.outcomes)")
            // The raw body stays as first received.
            let database = try StoreOpener.openForReading(path: db)
            #expect(try database.scalar("SELECT body FROM raw_analyses") == .text(original))
            #expect(try database.scalar("SELECT source FROM raw_analyses").textValue?.contains(Fixture.capture2022) == true)
        }
    }

    @Test func memberOrderAndEscapesDoNotMakeANewVersionButAnotherValueDoes() async throws {
        let scratch = try TemporaryDirectory()
        let db = scratch.path("o.sqlite")
        let body = #"{"data": {"threatInfo": {"threatId": "7", "updatedAt": "2024-01-02T03:04:05.000000Z", "threatName": "A.exe", "engines": ["x", "y"]}, "agentRealtimeInfo": {"agentId": "9", "networkInterfaces": []}}}"#
        _ = try await importFiles([try scratch.file("a.json", body)], into: db)
        let reordered = """
            {"data": {
              "agentRealtimeInfo": {"networkInterfaces": [ ], "agentId": "9"},
              "threatInfo": {"engines": ["x", "\\u0079"], "threatName": "\\u0041.exe", "updatedAt": "2024-01-02T03:04:05.000000Z", "threatId": "7"}
            }}
            """
        let same = try await importFiles([try scratch.file("b.json", reordered)], into: db)
        #expect(same.outcomes[.unchanged] == 1, "\(same.outcomes)")
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT body FROM raw_analyses") == .text(body))
        // A value that differs (same updatedAt) is a new version.
        let changed = try await importFiles([try scratch.file("c.json", body.replacingOccurrences(of: #"["x", "y"]"#, with: #"["x", "z"]"#))], into: db)
        #expect(changed.outcomes[.updated] == 1, "\(changed.outcomes)")
        #expect(try database.query("SELECT engine FROM engines ORDER BY position").compactMap { $0.first?.textValue } == ["x", "z"])
    }
}
