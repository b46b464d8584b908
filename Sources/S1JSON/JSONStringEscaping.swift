/// s1ingest's one JSON string escaper: `"` and `\` are escaped, line feed, carriage return and
/// tab as `\n` `\r` `\t`, the other control characters (below U+0020) as `\u00XX` with
/// lower-case hex digits. Everything else, `/`, DEL and every byte from 0x80 up included, is
/// written as it is, so UTF-8 text stays UTF-8 (and bytes that are not UTF-8 are kept, not
/// replaced).
public enum JSONStringEscaping {
    /// Calls `write` with the pieces of `bytes` escaped for the inside of a JSON string (no
    /// quotes), in order: runs of bytes that need no escape, straight from `bytes`, and the
    /// escape sequences between them. Bytes without anything to escape are one piece.
    public static func forEachEscapedPiece(of bytes: UnsafeRawBufferPointer, _ write: (UnsafeRawBufferPointer) -> Void) {
        var runStart = 0
        var escape: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x5C, 0, 0x30, 0x30, 0, 0)
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            if index > runStart { write(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])) }
            runStart = index + 1
            let length: Int
            switch byte {
            case 0x22, 0x5C: escape.1 = byte; length = 2
            case 0x0A: escape.1 = UInt8(ascii: "n"); length = 2
            case 0x0D: escape.1 = UInt8(ascii: "r"); length = 2
            case 0x09: escape.1 = UInt8(ascii: "t"); length = 2
            default:
                escape.1 = UInt8(ascii: "u")
                escape.4 = hexDigit(byte >> 4)
                escape.5 = hexDigit(byte & 0x0F)
                length = 6
            }
            withUnsafeBytes(of: &escape) { write(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        }
        if runStart < bytes.count { write(UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
    }

    /// True when `bytes` can go between quotes as they are: no `"`, `\` or control character.
    public static func needsNoEscape(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
    }

    /// Appends `bytes` as a JSON string literal, quotes included, to `output`.
    public static func appendLiteral(_ bytes: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        output.append(0x22)
        forEachEscapedPiece(of: bytes) { output.append(contentsOf: $0) }
        output.append(0x22)
    }

    /// The lower-case hex digit of `value` (0...15).
    @inline(__always)
    static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }
}

/// `text` as a JSON string literal, quotes included, escaped by `JSONStringEscaping`:
/// `"`, `\` and control characters escaped.
public func jsonStringLiteral(_ text: String) -> String {
    var text = text
    return text.withUTF8 { utf8 in
        let bytes = UnsafeRawBufferPointer(utf8)
        var result = [UInt8]()
        result.reserveCapacity(bytes.count + 2)
        JSONStringEscaping.appendLiteral(bytes, to: &result)
        return String(decoding: result, as: UTF8.self)
    }
}
