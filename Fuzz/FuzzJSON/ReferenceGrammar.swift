/// A second, deliberately plain reading of RFC 8259 (sections 2 to 8.1) that only answers
/// "is this one JSON text?", written apart from S1JSON's parser so the fuzzer can compare the
/// two: white space around one value; literals; numbers (`-`? int frac? exp?, no leading
/// zeros); strings of well-formed UTF-8 (Unicode table 3-7) with no control characters and
/// only the eight escapes and `\uXXXX`; arrays and objects nested at most `maxDepth` deep (as
/// S1JSON's default limit). Lone surrogate escapes are allowed, as the grammar allows them.
struct ReferenceGrammar {
    let bytes: [UInt8]
    let maxDepth: Int
    var at = 0

    static func accepts(_ bytes: [UInt8], maxDepth: Int = 256) -> Bool {
        var grammar = ReferenceGrammar(bytes: bytes, maxDepth: maxDepth)
        grammar.whitespace()
        guard grammar.value(depth: 0) else { return false }
        grammar.whitespace()
        return grammar.at == bytes.count
    }

    var current: UInt8? { at < bytes.count ? bytes[at] : nil }

    mutating func take(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        at += 1
        return true
    }

    mutating func whitespace() {
        while let byte = current, [0x20, 0x09, 0x0A, 0x0D].contains(byte) { at += 1 }
    }

    mutating func value(depth: Int) -> Bool {
        switch current {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { return false }
            at += 1
            whitespace()
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                whitespace()
                guard string() else { return false }
                whitespace()
                guard take(UInt8(ascii: ":")) else { return false }
                whitespace()
                guard value(depth: depth + 1) else { return false }
                whitespace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            guard depth < maxDepth else { return false }
            at += 1
            whitespace()
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                whitespace()
                guard value(depth: depth + 1) else { return false }
                whitespace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        case UInt8(ascii: "\""):
            return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default:
            return number()
        }
    }

    mutating func literal(_ text: String) -> Bool {
        for byte in text.utf8 where !take(byte) { return false }
        return true
    }

    mutating func digits() -> Int {
        var count = 0
        while let byte = current, (0x30...0x39).contains(byte) { at += 1; count += 1 }
        return count
    }

    mutating func number() -> Bool {
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            // no more digits may follow a leading zero (checked by the caller: what follows
            // must be '.', 'e', a separator or the end)
        } else if digits() == 0 {
            return false
        }
        if take(UInt8(ascii: ".")), digits() == 0 { return false }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            if digits() == 0 { return false }
        }
        return true
    }

    mutating func string() -> Bool {
        guard take(UInt8(ascii: "\"")) else { return false }
        while let byte = current {
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                return true
            case UInt8(ascii: "\\"):
                guard let escape = current else { return false }
                at += 1
                if escape == UInt8(ascii: "u") {
                    for _ in 0..<4 {
                        guard let hex = current, (0x30...0x39).contains(hex) || (0x41...0x46).contains(hex) || (0x61...0x66).contains(hex) else { return false }
                        at += 1
                    }
                } else if !Array(#""\/bfnrt"#.utf8).contains(escape) {
                    return false
                }
            case 0x00..<0x20:
                return false
            case 0x20..<0x80:
                continue
            default:
                guard utf8Sequence(lead: byte) else { return false }
            }
        }
        return false
    }

    /// The continuation bytes after `lead` (already taken), per Unicode table 3-7.
    mutating func utf8Sequence(lead: UInt8) -> Bool {
        let (count, secondRange): (Int, ClosedRange<UInt8>)
        switch lead {
        case 0xC2...0xDF: (count, secondRange) = (1, 0x80...0xBF)
        case 0xE0: (count, secondRange) = (2, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (count, secondRange) = (2, 0x80...0xBF)
        case 0xED: (count, secondRange) = (2, 0x80...0x9F)
        case 0xF0: (count, secondRange) = (3, 0x90...0xBF)
        case 0xF1...0xF3: (count, secondRange) = (3, 0x80...0xBF)
        case 0xF4: (count, secondRange) = (3, 0x80...0x8F)
        default: return false
        }
        for index in 0..<count {
            guard let byte = current, (index == 0 ? secondRange : 0x80...0xBF).contains(byte) else { return false }
            at += 1
        }
        return true
    }
}
