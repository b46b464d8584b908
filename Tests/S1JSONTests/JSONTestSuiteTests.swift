import Foundation
import Testing
import S1JSON

/// nst/JSONTestSuite's `test_parsing` cases (JSONTestSuite/SOURCES.md): every `y_` file
/// parses, every `n_` file is refused with a `JSONParseError`, and every `i_` file (either is
/// allowed) does what `implementationDefined` records, so a change of behaviour shows.
@Suite struct JSONTestSuiteTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("JSONTestSuite")

    static func files(_ prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// What the parser does with each `i_` file: nil when it accepts it, else a part of the
    /// reason it gives. It accepts any number JSON's grammar allows (the text is kept, so
    /// `1E400` or a 40-digit integer lose nothing; `int64`/`double` say nil or infinity), and
    /// `\u` escapes of lone or reversed surrogates (decoded as U+FFFD, as Swift's `String`
    /// would). It refuses bytes that are not UTF-8 (RFC 8259 section 8.1: JSON exchanged
    /// between systems is UTF-8), UTF-16, a byte order mark (section 8.1: must not be added; a
    /// console never sends one) and nesting deeper than 256 levels (its default `maxDepth`; an
    /// analysis is about 8 deep).
    static let implementationDefined: [String: String?] = [
        "i_number_double_huge_neg_exp.json": nil,
        "i_number_huge_exp.json": nil,
        "i_number_neg_int_huge_exp.json": nil,
        "i_number_pos_double_huge_exp.json": nil,
        "i_number_real_neg_overflow.json": nil,
        "i_number_real_pos_overflow.json": nil,
        "i_number_real_underflow.json": nil,
        "i_number_too_big_neg_int.json": nil,
        "i_number_too_big_pos_int.json": nil,
        "i_number_very_big_negative_int.json": nil,
        "i_object_key_lone_2nd_surrogate.json": nil,
        "i_string_1st_surrogate_but_2nd_missing.json": nil,
        "i_string_1st_valid_surrogate_2nd_invalid.json": nil,
        "i_string_UTF-16LE_with_BOM.json": "unexpected byte 0xFF",
        "i_string_UTF-8_invalid_sequence.json": "invalid UTF-8",
        "i_string_UTF8_surrogate_U+D800.json": "invalid UTF-8",
        "i_string_incomplete_surrogate_and_escape_valid.json": nil,
        "i_string_incomplete_surrogate_pair.json": nil,
        "i_string_incomplete_surrogates_escape_valid.json": nil,
        "i_string_invalid_lonely_surrogate.json": nil,
        "i_string_invalid_surrogate.json": nil,
        "i_string_invalid_utf-8.json": "invalid UTF-8",
        "i_string_inverted_surrogates_U+1D11E.json": nil,
        "i_string_iso_latin_1.json": "UTF-8",
        "i_string_lone_second_surrogate.json": nil,
        "i_string_lone_utf8_continuation_byte.json": "invalid UTF-8",
        "i_string_not_in_unicode_range.json": "invalid UTF-8",
        "i_string_overlong_sequence_2_bytes.json": "invalid UTF-8",
        "i_string_overlong_sequence_6_bytes.json": "invalid UTF-8",
        "i_string_overlong_sequence_6_bytes_null.json": "invalid UTF-8",
        "i_string_truncated-utf-8.json": "UTF-8",
        "i_string_utf16BE_no_BOM.json": "unexpected byte 0x0",
        "i_string_utf16LE_no_BOM.json": "unexpected byte 0x0",
        "i_structure_500_nested_arrays.json": "nesting deeper than 256 levels",
        "i_structure_UTF-8_BOM_empty_object.json": "unexpected byte 0xEF",
    ]

    @Test func allCasesAreThere() {
        #expect(Self.files("y_").count == 95)
        #expect(Self.files("n_").count == 188)
        #expect(Self.files("i_").count == 35)
        #expect(Set(Self.files("i_")) == Set(Self.implementationDefined.keys))
    }

    @Test(arguments: files("y_"))
    func accepts(file: String) throws {
        let bytes = try Self.bytes(file)
        let document: JSONDocument
        do {
            document = try JSONDocument(bytes: bytes)
        } catch {
            Issue.record("\(file) refused: \(error)")
            return
        }
        // The root's raw text is the input without its surrounding white space.
        let trimmed = bytes.drop { Self.isWhitespace($0) }.reversed().drop { Self.isWhitespace($0) }.reversed()
        #expect(document.root.withRawBytes { Array($0) } == Array(trimmed))
    }

    @Test(arguments: files("n_"))
    func refuses(file: String) throws {
        let bytes = try Self.bytes(file)
        do {
            _ = try JSONDocument(bytes: bytes)
            Issue.record("\(file) accepted: \(String(decoding: bytes.prefix(80), as: UTF8.self))")
        } catch {
            #expect((0...bytes.count).contains(error.offset), "\(file): \(error)")
            #expect(error.line >= 1 && error.column >= 1)
            #expect(!error.reason.isEmpty)
        }
    }

    @Test(arguments: files("i_"))
    func implementationDefinedCaseDoesWhatIsRecorded(file: String) throws {
        let bytes = try Self.bytes(file)
        guard let expected = Self.implementationDefined[file] else {
            Issue.record("\(file) has no recorded behaviour")
            return
        }
        do {
            let document = try JSONDocument(bytes: bytes)
            #expect(expected == nil, "\(file) accepted, expected a refusal: \(expected ?? "")")
            // Accepted strings decode without trapping, lone surrogates as U+FFFD.
            _ = Self.allStrings(document.root)
        } catch {
            #expect(expected != nil, "\(file) refused: \(error)")
            if let expected { #expect(error.reason.contains(expected), "\(file): \(error)") }
        }
    }

    @Test func loneSurrogatesDecodeAsReplacementCharacters() throws {
        let document = try JSONDocument(bytes: try Self.bytes("i_string_invalid_lonely_surrogate.json"))
        #expect(document.root.elements.first?.string == "\u{FFFD}")
        let inverted = try JSONDocument(bytes: try Self.bytes("i_string_inverted_surrogates_U+1D11E.json"))
        #expect(inverted.root.elements.first?.string == "\u{FFFD}\u{FFFD}")
        let pair = try JSONDocument(bytes: try Self.bytes("y_string_accepted_surrogate_pair.json"))
        #expect(pair.root.elements.first?.string == "\u{10437}")
    }

    @Test func hugeNumbersKeepTheirText() throws {
        let document = try JSONDocument(bytes: try Self.bytes("i_number_too_big_pos_int.json"))
        let number = try #require(document.root.elements.first)
        #expect(number.rawText == "100000000000000000000")
        #expect(number.int64 == nil)
        let huge = try JSONDocument(bytes: try Self.bytes("i_number_huge_exp.json"))
        #expect(huge.root.elements.first?.rawText.count == 135)
    }

    static func allStrings(_ value: JSONValue) -> [String] {
        switch value.kind {
        case .string: return [value.string ?? ""]
        case .array: return value.elements.flatMap(allStrings)
        case .object: return value.members.flatMap { [$0.name] + allStrings($0.value) }
        default: return []
        }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
