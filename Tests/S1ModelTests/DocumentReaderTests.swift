import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct DocumentReaderTests {
    @Test(arguments: [1 << 20, 7])  // 7-byte chunks put every boundary inside a document
    func newlineDelimitedWithBlankLinesCRLFAndBOM(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let text = "\u{FEFF}{\"data\": {\"n\": 1}}\r\n\r\n  {\"data\": {\"n\": 2}}  \r\n{\"data\": {\"n\": 3}}"
        let items = try readAll(try scratch.file("a.ndjson", text), chunkSize: chunkSize)
        #expect(items.map(\.text) == [#"{"data": {"n": 1}}"#, #"{"data": {"n": 2}}"#, #"{"data": {"n": 3}}"#])
        #expect(items.map(\.location.line) == [1, 3, 4])
    }

    @Test(arguments: [1 << 20, 5])
    func brokenLineCostsOnlyItself(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let text = "{\"data\": {\"n\": 1}}\n{\"data\": {\"n\": \n{\"data\": {\"n\": 3}}\n"
        let items = try readAll(try scratch.file("a.ndjson", text), chunkSize: chunkSize)
        #expect(items.count == 3)
        #expect(items[1].text == #"{"data": {"n":"#)
        #expect(items[2].text == #"{"data": {"n": 3}}"#)
        #expect(items[2].location.line == 3)
    }

    @Test(arguments: [1 << 20, 3])
    func topLevelArrayElementsWithIndexes(chunkSize: Int) throws {
        let scratch = try TemporaryDirectory()
        let text = "[\n  {\"data\": {\"s\": \"a,]}\"}},\n  {\"data\": {}},\n  42\n]\n"
        let items = try readAll(try scratch.file("a.json", text), chunkSize: chunkSize)
        #expect(items.map(\.text) == [#"{"data": {"s": "a,]}"}}"#, #"{"data": {}}"#, "42"])
        #expect(items.map(\.location.index) == [0, 1, 2])
        #expect(items.map(\.location.line) == [2, 3, 4])
        #expect(items[0].location.description.hasSuffix("a.json[0] (line 2)"))
    }

    @Test func prettyPrintedDocumentsOneAfterAnother() throws {
        let scratch = try TemporaryDirectory()
        let text = "{\n  \"data\": {\n    \"n\": 1\n  }\n}\n{\n  \"data\": {}\n}\n"
        let items = try readAll(try scratch.file("p.json", text), chunkSize: 4)
        #expect(items.count == 2)
        #expect(items.map(\.location.line) == [1, 6])
    }

    @Test func emptyAndWhitespaceOnlyInputsAreProblems() throws {
        let scratch = try TemporaryDirectory()
        for (name, text) in [("empty", ""), ("blank", " \n\r\n\t"), ("bom", "\u{FEFF}")] {
            let items = try readAll(try scratch.file(name, text))
            #expect(items.count == 1)
            #expect(items.first?.problem?.contains("empty input") == true, "\(name)")
        }
    }

    @Test func truncatedArrayAndPrettyDocumentAreReported() throws {
        let scratch = try TemporaryDirectory()
        let array = try readAll(try scratch.file("t.json", "[{\"data\": {}}, {\"data\": {\"a\": [1, 2"))
        #expect(array.count == 2)
        #expect(array[0].text == #"{"data": {}}"#)
        #expect(array[1].problem?.contains("incomplete") == true)
        let pretty = try readAll(try scratch.file("p.json", "{\n  \"data\": {\n"))
        #expect(pretty.count == 1)
        #expect(pretty[0].problem?.contains("truncated") == true)
    }

    @Test func missingCommaBetweenArrayElementsIsReportedAndReadingGoesOn() throws {
        let scratch = try TemporaryDirectory()
        let items = try readAll(try scratch.file("m.json", "[{\"data\": 1} {\"data\": 2}, {\"data\": 3}]"))
        #expect(items.compactMap(\.text) == [#"{"data": 1}"#, #"{"data": 2}"#, #"{"data": 3}"#])
        #expect(items.compactMap(\.problem).count == 1)
    }

    @Test func oversizedDocumentIsSkippedAndTheNextOneRead() throws {
        let scratch = try TemporaryDirectory()
        let big = "{\"data\": \"" + String(repeating: "x", count: 5000) + "\"}"
        let lines = try readAll(try scratch.file("o.ndjson", "\(big)\n{\"data\": {}}\n"), chunkSize: 512, maxDocumentBytes: 1000)
        #expect(lines.count == 2)
        #expect(lines[0].problem?.contains("larger than") == true)
        #expect(lines[1].text == #"{"data": {}}"#)
        let values = try readAll(try scratch.file("o.json", "[\(big), {\"data\": {}}]"), chunkSize: 512, maxDocumentBytes: 1000)
        #expect(values.count == 2)
        #expect(values[0].problem?.contains("larger than") == true)
        #expect(values[1].text == #"{"data": {}}"#)
    }

    @Test func missingFileAndDirectoryAreClearErrors() throws {
        let scratch = try TemporaryDirectory()
        #expect { _ = try DocumentReader(path: scratch.path("nope.json")) } throws: { "\($0)".contains("nope.json: No such file") }
        #expect { _ = try DocumentReader(path: scratch.url.path) } throws: { "\($0)".contains("directory") }
    }
}
