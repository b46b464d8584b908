import S1JSON
import S1Common
/// Threat IDs read from a file or stdin: one per line; blank lines and `#` comments ignored;
/// surrounding spaces, CRLF and a BOM tolerated; duplicates kept once. Anything else is
/// reported with its line number, before any request is made.
public struct ThreatIDList: Sendable {
    /// The IDs in first-seen order, without duplicates.
    public private(set) var ids: [String] = []
    /// Lines that were not IDs.
    public private(set) var invalid: [(line: Int, text: String, reason: String)] = []
    /// IDs seen more than once.
    public private(set) var duplicates = 0

    /// Longest accepted ID: real ones are 64-bit integers, 18–19 digits.
    public static let maxDigits = 20

    /// Reads `path` (`-` for standard input).
    public static func read(path: String) throws(InputError) -> ThreatIDList {
        let source = try ByteSource(path: path)
        var bytes: [UInt8] = []
        while try source.read(into: &bytes, count: 1 << 20) > 0 {}
        return parse(bytes)
    }

    /// Parses the text of an ID file.
    public static func parse(_ bytes: [UInt8]) -> ThreatIDList {
        var list = ThreatIDList()
        var seen = Set<String>()
        var bytes = bytes[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var lineNumber = 0
        // Split on the byte: in Swift "\r\n" is one Character, which a split on "\n" would miss.
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(decoding: rawLine, as: UTF8.self)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if let reason = Self.problem(with: trimmed) {
                list.invalid.append((lineNumber, String(trimmed.prefix(40)), reason))
                continue
            }
            if seen.insert(trimmed).inserted {
                list.ids.append(trimmed)
            } else {
                list.duplicates += 1
            }
        }
        return list
    }

    /// Why `text` is not a threat ID, or nil when it is one.
    public static func problem(with text: String) -> String? {
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return text.contains(where: { $0 == "," || $0 == " " || $0 == "\t" || $0 == ";" })
                ? "one ID per line expected" : "not a threat ID (digits only)"
        }
        guard text.utf8.count <= maxDigits else { return "not a threat ID (\(text.utf8.count) digits, at most \(maxDigits))" }
        return nil
    }
}

import Foundation
