/// A strict RFC 8259 parser that fills a `JSONDocument` tape. Recursive with a depth limit.
struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    mutating func parseDocument(into tape: inout [JSONDocument.Node]) throws(JSONParseError) {
        guard input.count <= Int(JSONDocument.maxBytes) else { throw error("document larger than 256 MiB") }
        skipWhitespace()
        if position == input.count { throw error(input.isEmpty ? "empty document" : "no JSON value, only white space") }
        try parseValue(into: &tape, depth: 0)
        skipWhitespace()
        if position != input.count { throw error("unexpected \(describe(input[position])) after the JSON value") }
    }

    // MARK: Values

    mutating func parseValue(into tape: inout [JSONDocument.Node], depth: Int) throws(JSONParseError) {
        guard position < input.count else { throw error("unexpected end of input (truncated document?)") }
        let byte = input[position]
        switch byte {
        case UInt8(ascii: "{"): try parseObject(into: &tape, depth: depth + 1)
        case UInt8(ascii: "["): try parseArray(into: &tape, depth: depth + 1)
        case UInt8(ascii: "\""): try parseString(into: &tape)
        case UInt8(ascii: "t"): try parseLiteral("true", kind: .true, into: &tape)
        case UInt8(ascii: "f"): try parseLiteral("false", kind: .false, into: &tape)
        case UInt8(ascii: "n"): try parseLiteral("null", kind: .null, into: &tape)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber(into: &tape)
        default: throw error("unexpected \(describe(byte))")
        }
    }

    mutating func parseObject(into tape: inout [JSONDocument.Node], depth: Int) throws(JSONParseError) {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        let index = tape.count
        tape.append(.init(kind: .object, escaped: false, start: Int32(position), end: 0, next: 0))
        position += 1
        skipWhitespace()
        if position < input.count, input[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of input inside an object (truncated document?)") }
                guard input[position] == UInt8(ascii: "\"") else { throw error("expected a quoted member name, found \(describe(input[position]))") }
                try parseString(into: &tape)
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of input inside an object (truncated document?)") }
                guard input[position] == UInt8(ascii: ":") else { throw error("expected ':' after a member name, found \(describe(input[position]))") }
                position += 1
                skipWhitespace()
                try parseValue(into: &tape, depth: depth)
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of input inside an object (truncated document?)") }
                let byte = input[position]
                position += 1
                if byte == UInt8(ascii: "}") { break }
                guard byte == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or '}' in an object, found \(describe(byte))") }
            }
        }
        tape[index].end = Int32(position)
        tape[index].next = Int32(tape.count)
    }

    mutating func parseArray(into tape: inout [JSONDocument.Node], depth: Int) throws(JSONParseError) {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        let index = tape.count
        tape.append(.init(kind: .array, escaped: false, start: Int32(position), end: 0, next: 0))
        position += 1
        skipWhitespace()
        if position < input.count, input[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                try parseValue(into: &tape, depth: depth)
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of input inside an array (truncated document?)") }
                let byte = input[position]
                position += 1
                if byte == UInt8(ascii: "]") { break }
                guard byte == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or ']' in an array, found \(describe(byte))") }
            }
        }
        tape[index].end = Int32(position)
        tape[index].next = Int32(tape.count)
    }

    mutating func parseString(into tape: inout [JSONDocument.Node]) throws(JSONParseError) {
        position += 1  // opening quote
        let start = position
        var escaped = false
        var nonASCII = false
        while true {
            guard position < input.count else { throw error("unterminated string (truncated document?)") }
            let byte = input[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try skipEscape()
                continue
            }
            if byte < 0x20 { throw error("control character \(describe(byte)) inside a string") }
            if byte >= 0x80 { nonASCII = true }
            position += 1
        }
        if nonASCII { try validateUTF8(from: start, to: position) }
        tape.append(.init(kind: .string, escaped: escaped, start: Int32(start), end: Int32(position), next: Int32(tape.count + 1)))
        position += 1  // closing quote
    }

    mutating func skipEscape() throws(JSONParseError) {
        position += 1
        guard position < input.count else { throw error("unterminated string (truncated document?)") }
        switch input[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            guard position + 4 < input.count else { throw error("unterminated string (truncated document?)") }
            for offset in 1...4 where hexValue(input[position + offset]) == nil {
                position += offset
                throw error("invalid \\u escape")
            }
            position += 5
        default:
            throw error("invalid escape \\\(describe(input[position]))")
        }
    }

    mutating func validateUTF8(from start: Int, to end: Int) throws(JSONParseError) {
        var index = start
        while index < end {
            let lead = input[index]
            let length: Int
            switch lead {
            case 0x00..<0x80: index += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: position = index; throw error("invalid UTF-8 byte 0x\(String(lead, radix: 16))")
            }
            guard index + length <= end else { position = index; throw error("truncated UTF-8 sequence") }
            for offset in 1..<length where input[index + offset] & 0xC0 != 0x80 {
                position = index
                throw error("invalid UTF-8 sequence")
            }
            let second = input[index + 1]
            if (lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F)
                || (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F) {
                position = index
                throw error("invalid UTF-8 sequence")
            }
            index += length
        }
    }

    mutating func parseNumber(into tape: inout [JSONDocument.Node]) throws(JSONParseError) {
        let start = position
        if input[position] == UInt8(ascii: "-") { position += 1 }
        guard position < input.count, isDigit(input[position]) else { throw error("invalid number") }
        if input[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < input.count, isDigit(input[position]) { position += 1 }
        }
        if position < input.count, input[position] == UInt8(ascii: ".") {
            position += 1
            guard position < input.count, isDigit(input[position]) else { throw error("invalid number: digits expected after '.'") }
            while position < input.count, isDigit(input[position]) { position += 1 }
        }
        if position < input.count, input[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < input.count, input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-") { position += 1 }
            guard position < input.count, isDigit(input[position]) else { throw error("invalid number: exponent digits expected") }
            while position < input.count, isDigit(input[position]) { position += 1 }
        }
        tape.append(.init(kind: .number, escaped: false, start: Int32(start), end: Int32(position), next: Int32(tape.count + 1)))
    }

    mutating func parseLiteral(_ literal: StaticString, kind: JSONDocument.Kind, into tape: inout [JSONDocument.Node]) throws(JSONParseError) {
        let start = position
        let count = literal.utf8CodeUnitCount
        guard position + count <= input.count else { throw error("unexpected end of input (truncated document?)") }
        for offset in 0..<count where input[position + offset] != literal.utf8Start[offset] {
            throw error("unexpected \(describe(input[position]))")
        }
        position += count
        tape.append(.init(kind: kind, escaped: false, start: Int32(start), end: Int32(position), next: Int32(tape.count + 1)))
    }

    // MARK: Helpers

    mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        default: return "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }
    }

    func error(_ reason: String) -> JSONParseError {
        let offset = min(position, input.count)
        var line = 1
        var lineStart = 0
        for index in 0..<offset where input[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return JSONParseError(offset: offset, line: line, column: offset - lineStart + 1, reason: reason)
    }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
    default: return nil
    }
}
