/// Where each key of a TOML document is first defined, found by scanning the text: TOMLKit
/// gives a value but not the line it came from (only a syntax error has one).
///
/// Knows table headers (`[a.b]`, `[[a.b]]`), dotted and quoted keys (`a."b.c" = 1`), inline
/// tables (`a = { b = 1 }`), array elements (`a = [1,\n 2]`, recorded as
/// ``elementComponent(_:)``), strings of every kind (so a `"x = 1"` or a line inside a `"""`
/// string is not taken for a key) and comments. A key's position is that of its first
/// appearance: a table defined by a header is at its header, one made implicitly by a dotted
/// key at that key. Meant for a document TOMLKit has already accepted: on invalid text it still
/// ends, but its positions may be wrong.
struct TOMLLineIndex {
    /// A place in the text: its line (from 1) and its byte offset (to order things on one line).
    struct Position: Comparable, Sendable {
        var line: Int
        var offset: Int

        static func < (lhs: Position, rhs: Position) -> Bool {
            (lhs.line, lhs.offset) < (rhs.line, rhs.offset)
        }
    }

    private(set) var positions: [[String]: Position] = [:]

    init(_ text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        positions = scanner.positions
    }

    /// The first position of `path` (the keys from the top: `["consoles", "east", "url"]`).
    func position(_ path: [String]) -> Position? { positions[path] }

    /// The line of `path`, if it is in the document.
    func line(_ path: [String]) -> Int? { positions[path]?.line }

    /// The path component of element `index` of an array: a key cannot be spelled so (it
    /// would need a NUL, and TOML text holding one is refused before it gets here).
    static func elementComponent(_ index: Int) -> String { "\u{0}[\(index)]" }
}

private struct Scanner {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var positions: [[String]: TOMLLineIndex.Position] = [:]
    /// The keys of the current `[table]` header.
    var table: [String] = []

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte order mark, which TOML parsers skip.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    private var atEnd: Bool { index >= bytes.count }
    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func peek(_ distance: Int) -> UInt8? {
        index + distance < bytes.count ? bytes[index + distance] : nil
    }

    private func starts(with ascii: StaticString) -> Bool {
        let count = ascii.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return ascii.withUTF8Buffer { pattern in
            (0..<count).allSatisfy { bytes[index + $0] == pattern[$0] }
        }
    }

    private var position: TOMLLineIndex.Position { .init(line: line, offset: index) }

    /// Moves one byte on, counting lines.
    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }
    }

    /// Records `path` and every prefix of it not seen yet at `position`.
    private mutating func record(_ path: [String], at position: TOMLLineIndex.Position) {
        guard !path.isEmpty else { return }
        for length in 1...path.count {
            let prefix = Array(path.prefix(length))
            if positions[prefix] == nil { positions[prefix] = position }
        }
    }

    private mutating func skipSpaces() {
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Skips spaces, line breaks and comments.
    private mutating func skipBlank() {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "#"): skipToEndOfLine()
            default: return
            }
        }
    }

    private mutating func skipToEndOfLine() {
        while let byte = current, byte != UInt8(ascii: "\n") { advance() }
    }

    mutating func scanDocument() {
        while true {
            skipBlank()
            guard let byte = current else { return }
            let start = index
            if byte == UInt8(ascii: "[") {
                let at = position
                advance()
                let arrayOfTables = current == UInt8(ascii: "[")
                if arrayOfTables { advance() }
                table = scanKey()
                skipSpaces()
                if current == UInt8(ascii: "]") { advance() }
                if arrayOfTables && current == UInt8(ascii: "]") { advance() }
                record(table, at: at)
            } else {
                let at = position
                let key = scanKey()
                if !key.isEmpty {
                    record(table + key, at: at)
                    skipSpaces()
                    if current == UInt8(ascii: "=") {
                        advance()
                        skipSpaces()
                        scanValue(path: table + key)
                    }
                }
            }
            // Whatever is left of a line that did not read as expected: never loop in place.
            if index == start { skipToEndOfLine() }
        }
    }

    /// A key, dotted or not: `a`, `"a.b"`, `'a'`, `a . "b" . c`.
    private mutating func scanKey() -> [String] {
        var keys: [String] = []
        while true {
            skipSpaces()
            guard let byte = current else { return keys }
            switch byte {
            case UInt8(ascii: "\""): keys.append(scanBasicString(decoding: true))
            case UInt8(ascii: "'"): keys.append(scanLiteralString())
            default:
                let start = index
                while let byte = current, isBareKeyByte(byte) { advance() }
                guard index > start else { return keys }
                keys.append(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            skipSpaces()
            guard current == UInt8(ascii: ".") else { return keys }
            advance()
        }
    }

    private func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
    }

    /// A value; the keys of an inline table and the elements of an array are recorded under
    /// `path` (nothing is recorded when it is nil).
    private mutating func scanValue(path: [String]?) {
        guard let byte = current else { return }
        switch byte {
        case UInt8(ascii: "\""):
            if starts(with: "\"\"\"") { scanMultilineString(quote: UInt8(ascii: "\""), escapes: true) }
            else { _ = scanBasicString(decoding: false) }
        case UInt8(ascii: "'"):
            if starts(with: "'''") { scanMultilineString(quote: UInt8(ascii: "'"), escapes: false) }
            else { _ = scanLiteralString() }
        case UInt8(ascii: "["): scanArray(path: path)
        case UInt8(ascii: "{"): scanInlineTable(path: path)
        default:
            // A number, boolean or date: up to the end of the value.
            while let byte = current, !isValueEnd(byte) { advance() }
        }
    }

    private func isValueEnd(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "\n"): return true
        default: return false
        }
    }

    private mutating func scanArray(path: [String]?) {
        advance() // [
        var element = 0
        while true {
            skipBlank()
            guard let byte = current else { return }
            if byte == UInt8(ascii: "]") { advance(); return }
            let start = index
            let elementPath = path.map { $0 + [TOMLLineIndex.elementComponent(element)] }
            if let elementPath { record(elementPath, at: position) }
            scanValue(path: elementPath)
            element += 1
            skipBlank()
            if current == UInt8(ascii: ",") { advance() }
            if index == start { advance() }
        }
    }

    private mutating func scanInlineTable(path: [String]?) {
        advance() // {
        while true {
            skipBlank()
            guard let byte = current else { return }
            if byte == UInt8(ascii: "}") { advance(); return }
            let start = index
            let at = position
            let key = scanKey()
            if let path, !key.isEmpty { record(path + key, at: at) }
            skipSpaces()
            if current == UInt8(ascii: "=") {
                advance()
                skipSpaces()
                scanValue(path: path.map { $0 + key })
            }
            skipBlank()
            if current == UInt8(ascii: ",") { advance() }
            if index == start { advance() }
        }
    }

    /// `"..."`, on one line; its text with escapes decoded when `decoding`.
    private mutating func scanBasicString(decoding: Bool) -> String {
        advance() // "
        var text: [UInt8] = []
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\\") {
                advance()
                guard let escaped = current else { break }
                if decoding { appendEscape(escaped, to: &text) } else { advance() }
            } else {
                if decoding { text.append(byte) }
                advance()
            }
        }
        if current == UInt8(ascii: "\"") { advance() }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes the escape whose letter is at `index` (`\n`, `\u00e9`, ...), moving past it.
    private mutating func appendEscape(_ letter: UInt8, to text: inout [UInt8]) {
        advance()
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "f"): 0x0C,
            UInt8(ascii: "r"): 0x0D, UInt8(ascii: "e"): 0x1B, UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C,
        ]
        if let byte = simple[letter] { text.append(byte); return }
        let digits: Int
        switch letter {
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        case UInt8(ascii: "x"): digits = 2
        default: return
        }
        guard index + digits <= bytes.count,
              let value = UInt32(String(decoding: bytes[index..<(index + digits)], as: UTF8.self), radix: 16),
              let scalar = Unicode.Scalar(value) else { return }
        advance(digits)
        text.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// `'...'`, on one line, taken as it is.
    private mutating func scanLiteralString() -> String {
        advance() // '
        let start = index
        while let byte = current, byte != UInt8(ascii: "'"), byte != UInt8(ascii: "\n") { advance() }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if current == UInt8(ascii: "'") { advance() }
        return text
    }

    /// `"""..."""` or `'''...'''`, over any number of lines; up to two more quotes right
    /// before the closing three belong to the text (`""""a"""""` is `"a""`).
    private mutating func scanMultilineString(quote: UInt8, escapes: Bool) {
        advance(3)
        while let byte = current {
            if byte == quote, peek(1) == quote, peek(2) == quote {
                advance(3)
                var extra = 0
                while extra < 2, current == quote { advance(); extra += 1 }
                return
            }
            if escapes && byte == UInt8(ascii: "\\") { advance(2) } else { advance() }
        }
    }
}
