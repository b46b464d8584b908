import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

/// `import` checks threat IDs as `ingest` does (issue 11, item 4).
@Suite struct ImportIDTests {
    static func body(_ id: String) -> String { #"{"data": {"threatInfo": {"threatId": \#(id)}}}"# }

    @Test func onlyDigitIDsOfAtMost20AreStoredAndTheRestReportedWithFileAndLine() async throws {
        let scratch = try TemporaryDirectory()
        let sixty = String(repeating: "7", count: 60)
        let lines = [
            Self.body(#""abc""#),             // 1
            Self.body("1.5"),                 // 2
            Self.body("-0"),                  // 3
            Self.body("\"\(sixty)\""),        // 4
            Self.body(sixty),                 // 5
            Self.body(#""1\ud800""#),         // 6: a lone surrogate...
            Self.body(#""1\udbff""#),         // 7: ...and another: never one ID "1\u{FFFD}"
            Self.body(#""12 ""#),             // 8
            Self.body(#""1311010474425970168""#),  // 9
            Self.body("1311010474425970169"),      // 10: a number keeps its digits
            Self.body(#""\u0031\u0032""#),    // 11: escapes decode to digits: "12"
            Self.body("\"\(String(repeating: "9", count: 20))\""),  // 12: 20 digits are fine
        ]
        let file = try scratch.file("ids.ndjson", lines.joined(separator: "\n"))
        let db = scratch.path("ids.sqlite")
        let summary = try await importFiles([file], into: db)
        let reasons = summary.problems.map(\.description)
        #expect(summary.stored == 4, "\(reasons)")
        #expect(summary.problemCount == 8, "\(reasons)")
        for line in 1...8 {
            #expect(reasons.contains { $0.contains("ids.ndjson:\(line):") && $0.contains("threatInfo.threatId is not a usable ID") }, "line \(line): \(reasons)")
        }
        #expect(reasons.contains { $0.contains("ids.ndjson:4:") && $0.contains("60 digits, at most 20") })
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.query("SELECT threat_id FROM threats ORDER BY threat_id").compactMap { $0.first?.textValue }
                == ["12", "1311010474425970168", "1311010474425970169", String(repeating: "9", count: 20)])
    }
}
