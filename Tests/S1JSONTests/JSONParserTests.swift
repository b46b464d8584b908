import Testing
@testable import S1JSON

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

@Suite struct JSONHintedLookupTests {
    @Test func findsMembersInAnyOrderWithAMovingHint() throws {
        let document = try JSONDocument(text: #"{"a": 1, "b": {"x": 0}, "c": [1, 2], "d": "s", "e\u0041": 5}"#)
        let root = document.root
        var hint: Int32 = 0
        // In order: each found after the previous one.
        #expect(root.member(Array("a".utf8), hint: &hint)?.int64 == 1)
        #expect(root.member(Array("c".utf8), hint: &hint)?.elements.count == 2)
        // Out of order: wraps around to the start.
        #expect(root.member(Array("b".utf8), hint: &hint)?["x"]?.int64 == 0)
        #expect(root.member(Array("missing".utf8), hint: &hint) == nil)
        #expect(root.member(Array("d".utf8), hint: &hint)?.string == "s")
        #expect(root.member(Array("eA".utf8), hint: &hint)?.int64 == 5)  // an escaped key
        #expect(root.member(Array("a".utf8), hint: &hint)?.int64 == 1)
        var empty: Int32 = 0
        #expect(try JSONDocument(text: "{}").root.member(Array("a".utf8), hint: &empty) == nil)
        #expect(try JSONDocument(text: "[1]").root.member(Array("a".utf8), hint: &empty) == nil)
    }
}
