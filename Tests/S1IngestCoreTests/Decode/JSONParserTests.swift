import Testing
@testable import S1IngestCore

@Suite struct JSONParserTests {
    @Test func parsesNestedValuesAndKeepsNumberDigits() throws {
        let document = try JSONDocument(text: #"{"a": [1, -2.5e3, true, false, null], "id": 1311010474425970168, "s": "x"}"#)
        let root = document.root
        #expect(root.kind == .object)
        #expect(root.count == 3)
        #expect(root["a"]?.elements.map(\.kind) == [.number, .number, .true, .false, .null])
        #expect(root["a"]?.elements[1].double == -2500)
        // A 19-digit ID sent as a number keeps every digit (a Double would not).
        #expect(root["id"]?.rawText == "1311010474425970168")
        #expect(root["id"]?.int64 == 1_311_010_474_425_970_168)
        #expect(root["s"]?.string == "x")
        #expect(root["missing"] == nil)
    }

    @Test func decodesEscapesAndUnicode() throws {
        let document = try JSONDocument(text: #"{"k\u00e9y": "line\nbreak \"q\" \\ \/ \u00e9 \ud83d\ude00 ü"}"#)
        let value = document.root["kéy"]
        #expect(value?.string == "line\nbreak \"q\" \\ / é 😀 ü")
    }

    @Test(arguments: [
        (#"{"a": 1"#, "unexpected end of input"),
        (#"{"a": 1,}"#, "expected a quoted member name"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"[1 2]"#, "expected ',' or ']'"),
        (#"{"a": tru}"#, "unexpected"),
        (#"{"a": 01}"#, "expected ',' or '}' in an object, found '1'"),
        (#"{"a": "x"} {"b": 1}"#, "after the JSON value"),
        ("{\"a\": \"tab\there\"}", "control character"),
        (#"{"a": "\x"}"#, "invalid escape"),
        ("", "empty document"),
        ("   ", "only white space"),
        (#"{"a": 1.}"#, "digits expected after '.'"),
    ])
    func reportsWhatIsWrong(input: String, reason: String) {
        #expect {
            _ = try JSONDocument(text: input)
        } throws: { error in
            (error as? JSONParseError)?.reason.contains(reason) == true
        }
    }

    @Test func errorPositionHasLineAndColumn() {
        do {
            _ = try JSONDocument(text: "{\n  \"a\": 1,\n  \"b\": ?\n}")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
        }
    }

    @Test func rejectsInvalidUTF8AndExcessiveNesting() {
        #expect(throws: JSONParseError.self) { _ = try JSONDocument(bytes: Array(#"{"a": ""#.utf8) + [0xFF, 0x22, 0x7D]) }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { _ = try JSONDocument(text: deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { _ = try JSONDocument(text: fine) }
    }

    @Test func rawBytesOfAValueAreExactlyTheInput() throws {
        let text = #"{"data" : { "x" :  [1,  2] } }"#
        let document = try JSONDocument(text: text)
        #expect(document.root["data"]?.rawText == #"{ "x" :  [1,  2] }"#)
        #expect(document.root.rawText == text)
    }
}
