import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

/// Layout detection and recovery from broken elements (issue 11, items 1 and 2).
@Suite struct InputLayoutTests {
    // MARK: 1. A file is NDJSON only when its first line is a complete JSON value

    @Test(arguments: [1 << 20, 5])
    func documentWhoseFirstLineDoesNotCloseIsOneDocument(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let text = "{\"data\": {\"threatInfo\": {\"threatId\": \"1\"},\n \"agentRealtimeInfo\": {}}}\n"
        let items = try readAll(try scratch.file("wrapped.json", text), chunkSize: chunkSize)
        #expect(items.map(\.text) == [text.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(items.map(\.location.line) == [1])
    }

    @Test func firstLineThatClosesItsObjectMakesNewlineDelimitedJSON() throws {
        let scratch = try TemporaryDirectory()
        // A complete first line: every line is a document, even one with braces in strings.
        let text = "{\"data\": {\"s\": \"}{\\\"\"}}\n{\"data\": {\"n\": 2}}\n"
        let items = try readAll(try scratch.file("a.ndjson", text), chunkSize: 3)
        #expect(items.map(\.text) == [#"{"data": {"s": "}{\""}}"#, #"{"data": {"n": 2}}"#])
        #expect(items.map(\.location.line) == [1, 2])
    }

    @Test func wrappedDocumentImportsWithoutProblems() async throws {
        let scratch = try TemporaryDirectory()
        let file = try scratch.file("wrapped.json", "{\"data\": {\"threatInfo\": {\"threatId\": \"1\"},\n \"agentRealtimeInfo\": {}}}")
        let summary = try await importFiles([file], into: scratch.path("w.sqlite"))
        #expect(summary.problemCount == 0, "\(summary.problems)")
        #expect(summary.documentsRead == 1)
        #expect(summary.stored == 1)
    }

    // MARK: 2. One unbalanced element costs only itself

    static let prettyArrayWithUnbalancedElement = """
        [
          {
            "data": {"threatInfo": {"threatId": "1"}}
          },
          {
            "data": {"threatInfo": {"threatId": "2"}
          },
          {
            "data": {"threatInfo": {"threatId": "3"}}
          },
          {
            "data": {"threatInfo": {"threatId": "4"}}
          }
        ]

        """

    @Test(arguments: [1 << 20, 7])
    func unbalancedPrettyArrayElementIsCutAtTheNextElement(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let items = try readAll(try scratch.file("a.json", Self.prettyArrayWithUnbalancedElement), chunkSize: chunkSize)
        try #require(items.map(\.location.index) == [0, 1, 2, 3])
        #expect(items.map(\.location.line) == [2, 5, 8, 11])
        #expect(items.allSatisfy { $0.text != nil }, "\(items)")
        #expect(items[1].text == "{\n    \"data\": {\"threatInfo\": {\"threatId\": \"2\"}\n  }")
        #expect(items[3].text == "{\n    \"data\": {\"threatInfo\": {\"threatId\": \"4\"}}\n  }")
    }

    @Test(arguments: [1 << 20, 4])
    func unterminatedStringInACompactArrayCostsOnlyItsElement(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let text = #"[{"data":{"threatInfo":{"threatId":"1}}},{"data":{"threatInfo":{"threatId":"2"}}},{"data":{"threatInfo":{"threatId":"3"}}}]"#
        let items = try readAll(try scratch.file("c.json", text), chunkSize: chunkSize)
        #expect(items.compactMap(\.text) == [#"{"data":{"threatInfo":{"threatId":"1}}}"#,
                                             #"{"data":{"threatInfo":{"threatId":"2"}}}"#,
                                             #"{"data":{"threatInfo":{"threatId":"3"}}}"#])
        #expect(items.compactMap(\.problem).isEmpty)
        #expect(items.map(\.location.index) == [0, 1, 2])
    }

    @Test func unbalancedValueAmongPrettyDocumentsCostsOnlyItself() throws {
        let scratch = try TemporaryDirectory()
        let text = "{\n  \"data\": {\n    \"n\": 1\n}\n{\n  \"data\": {}\n}\n"
        let items = try readAll(try scratch.file("p.json", text), chunkSize: 4)
        #expect(items.map(\.text) == ["{\n  \"data\": {\n    \"n\": 1\n}", "{\n  \"data\": {}\n}"])
        #expect(items.map(\.location.line) == [1, 5])
    }

    @Test func closerOfTheWrongKindEndsTheElementThere() throws {
        let scratch = try TemporaryDirectory()
        // The last element lacks its '}': the array's ']' ends it, and the array is closed.
        let items = try readAll(try scratch.file("w.json", #"[{"a": 1}, {"b": {"c": 2}]"#))
        #expect(items.map(\.text) == [#"{"a": 1}"#, #"{"b": {"c": 2}"#])
    }

    @Test func everyElementOfABrokenArrayIsCountedAndTheRestImports() async throws {
        let scratch = try TemporaryDirectory()
        let file = try scratch.file("a.json", Self.prettyArrayWithUnbalancedElement)
        let summary = try await importFiles([file], into: scratch.path("a.sqlite"))
        #expect(summary.documentsRead == 4)
        #expect(summary.stored == 3)
        #expect(summary.problemCount == 1, "\(summary.problems)")
        #expect(summary.problems.first?.description.contains("a.json[1]") == true, "\(summary.problems)")
    }
}
