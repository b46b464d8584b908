import Testing
import S1JSON

@Suite struct JSONStringEscapingTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(jsonStringLiteral("plain é 😀 / \u{7F}") == "\"plain é 😀 / \u{7F}\"")
        #expect(jsonStringLiteral(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(jsonStringLiteral("l\nr\rt\t") == #""l\nr\rt\t""#)
        #expect(jsonStringLiteral("\u{0}\u{8}\u{C}\u{1B}\u{1F}") == #""\u0000\u0008\u000c\u001b\u001f""#)
        #expect(jsonStringLiteral("") == #""""#)
    }

    @Test func piecesAreRunsAndEscapesInOrder() {
        var pieces: [String] = []
        let text = Array("ab\"cd\u{1}".utf8)
        text.withUnsafeBytes { bytes in
            JSONStringEscaping.forEachEscapedPiece(of: bytes) { pieces.append(String(decoding: $0, as: UTF8.self)) }
        }
        #expect(pieces == ["ab", "\\\"", "cd", "\\u0001"])
        var clean: [String] = []
        Array("no escapes".utf8).withUnsafeBytes { bytes in
            #expect(JSONStringEscaping.needsNoEscape(bytes))
            JSONStringEscaping.forEachEscapedPiece(of: bytes) { clean.append(String(decoding: $0, as: UTF8.self)) }
        }
        #expect(clean == ["no escapes"])
    }

    /// Bytes that are not UTF-8 are kept as they are (an export writes SQLite's text bytes).
    @Test func bytesFromTheUpperHalfAreKept() {
        var output: [UInt8] = []
        ([0xFF, 0x22, 0xC3] as [UInt8]).withUnsafeBytes { JSONStringEscaping.appendLiteral($0, to: &output) }
        #expect(output == [0x22, 0xFF, 0x5C, 0x22, 0xC3, 0x22])
    }

    /// Every ASCII character, escaped and parsed back, is itself.
    @Test func everyASCIICharacterRoundTripsThroughTheParser() throws {
        let all = String(decoding: Array(0..<0x80 as Range<UInt8>), as: UTF8.self) + "é😀"
        let document = try JSONDocument(text: jsonStringLiteral(all))
        #expect(document.root.string == all)
    }
}
