/// A value inside a `JSONDocument`. Cheap to copy; valid as long as its document is.
public struct JSONValue {
    /// The document this value is in.
    public let document: JSONDocument
    let index: Int32

    var node: JSONDocument.Node { document.tape[Int(index)] }

    /// The value's kind.
    public var kind: JSONDocument.Kind { node.kind }

    /// True for JSON `null`.
    public var isNull: Bool { kind == .null }

    /// The member named `key`, when this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        var key = key
        return key.withUTF8 { member(UnsafeRawBufferPointer($0)) }
    }

    /// The member whose name has exactly these UTF-8 bytes.
    public func member(_ key: UnsafeRawBufferPointer) -> JSONValue? {
        let tape = document.tape
        let object = tape[Int(index)]
        guard object.kind == .object else { return nil }
        return document.bytes.withUnsafeBytes { bytes -> JSONValue? in
            var keyIndex = index + 1
            while keyIndex < object.next {
                let keyNode = tape[Int(keyIndex)]
                let valueIndex = keyIndex + 1
                if Self.stringEquals(keyNode, key, in: bytes) {
                    return JSONValue(document: document, index: valueIndex)
                }
                keyIndex = tape[Int(valueIndex)].next
            }
            return nil
        }
    }

    /// The member named by `key`, searching from the member at tape index `hint` onwards
    /// and then from the start; returns the value and the hint for the next search. When
    /// keys are looked up in the order the object lists them, each search is one comparison.
    /// Start with a hint of 0; nil when this is not an object or has no such member.
    public func member(_ key: [UInt8], hint: inout Int32) -> JSONValue? {
        let tape = document.tape
        let object = tape[Int(index)]
        guard object.kind == .object, object.next > index + 1 else { return nil }
        return document.bytes.withUnsafeBytes { bytes -> JSONValue? in
            key.withUnsafeBytes { key -> JSONValue? in
                let first = index + 1
                var keyIndex = hint > index && hint < object.next ? hint : first
                var wrapped = false
                while true {
                    if keyIndex >= object.next {
                        if wrapped || hint <= first { return nil }
                        wrapped = true
                        keyIndex = first
                    }
                    if wrapped && keyIndex >= hint { return nil }
                    let valueIndex = keyIndex + 1
                    let nextKey = tape[Int(valueIndex)].next
                    if Self.stringEquals(tape[Int(keyIndex)], key, in: bytes) {
                        hint = nextKey
                        return JSONValue(document: document, index: valueIndex)
                    }
                    keyIndex = nextKey
                }
            }
        }
    }

    /// The members of an object, in document order, with their names.
    public var members: [(name: String, value: JSONValue)] {
        guard kind == .object else { return [] }
        var result: [(String, JSONValue)] = []
        var keyIndex = index + 1
        let end = node.next
        while keyIndex < end {
            let name = JSONValue(document: document, index: keyIndex).string ?? ""
            result.append((name, JSONValue(document: document, index: keyIndex + 1)))
            keyIndex = document.tape[Int(keyIndex + 1)].next
        }
        return result
    }

    /// The elements of an array, in order; empty for anything else.
    public var elements: [JSONValue] {
        guard kind == .array else { return [] }
        var result: [JSONValue] = []
        result.reserveCapacity(count)
        var elementIndex = index + 1
        let end = node.next
        while elementIndex < end {
            result.append(JSONValue(document: document, index: elementIndex))
            elementIndex = document.tape[Int(elementIndex)].next
        }
        return result
    }

    /// Calls `body` with each element of an array, in order (nothing for anything else),
    /// without building an array of them.
    public func forEachElement(_ body: (JSONValue) throws -> Void) rethrows {
        guard kind == .array else { return }
        var elementIndex = index + 1
        let end = node.next
        while elementIndex < end {
            try body(JSONValue(document: document, index: elementIndex))
            elementIndex = document.tape[Int(elementIndex)].next
        }
    }

    /// Elements of an array or members of an object.
    public var count: Int {
        let node = self.node
        let tape = document.tape
        var count = 0
        switch node.kind {
        case .array:
            var element = index + 1
            while element < node.next {
                count += 1
                element = tape[Int(element)].next
            }
        case .object:
            var key = index + 1
            while key < node.next {
                count += 1
                key = tape[Int(key + 1)].next
            }
        default:
            break
        }
        return count
    }

    /// The decoded string, for a JSON string.
    public var string: String? {
        guard kind == .string else { return nil }
        return withStringBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// The decoded UTF-8 bytes of a string (zero-copy when it has no escapes).
    public func withStringBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let node = self.node
        return try document.bytes.withUnsafeBytes { bytes in
            let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(node.start)..<Int(node.end)])
            guard node.escaped else { return try body(slice) }
            let decoded = unescapeJSONString(slice)
            return try decoded.withUnsafeBytes { try body($0) }
        }
    }

    /// The value's JSON text exactly as in the input (numbers keep every digit).
    public func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let node = self.node
        let start = node.kind == .string ? Int(node.start) - 1 : Int(node.start)
        let end = node.kind == .string ? Int(node.end) + 1 : Int(node.end)
        return try document.bytes.withUnsafeBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
    }

    /// The value's JSON text exactly as in the input.
    public var rawText: String { withRawBytes { String(decoding: $0, as: UTF8.self) } }

    /// A JSON number that is a whole number fitting in 64 bits.
    public var int64: Int64? {
        guard kind == .number else { return nil }
        return withRawBytes { parseInt64($0) }
    }

    /// A JSON number as a Double.
    public var double: Double? {
        guard kind == .number else { return nil }
        return Double(rawText)
    }

    /// `true` or `false`.
    public var bool: Bool? {
        switch kind {
        case .true: return true
        case .false: return false
        default: return nil
        }
    }

    static func stringEquals(_ node: JSONDocument.Node, _ key: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard node.kind == .string else { return false }
        let length = Int(node.end - node.start)
        if node.escaped {
            let decoded = unescapeJSONString(UnsafeRawBufferPointer(rebasing: bytes[Int(node.start)..<Int(node.end)]))
            return decoded.elementsEqual(key)
        }
        guard length == key.count else { return false }
        guard length > 0 else { return true }
        return memcmp(bytes.baseAddress! + Int(node.start), key.baseAddress!, length) == 0
    }
}

/// Parses ASCII digits (with an optional leading '-') into an Int64; nil on anything else or overflow.
public func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    guard !bytes.isEmpty else { return nil }
    var index = 0
    let negative = bytes[0] == UInt8(ascii: "-")
    if negative { index = 1 }
    guard index < bytes.count else { return nil }
    var value: Int64 = 0
    while index < bytes.count {
        let digit = bytes[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (added, overflow2) = negative
            ? multiplied.subtractingReportingOverflow(Int64(digit))
            : multiplied.addingReportingOverflow(Int64(digit))
        guard !overflow1, !overflow2 else { return nil }
        value = added
        index += 1
    }
    return value
}

/// Decodes the escapes of a JSON string's inner bytes (already validated by the parser).
func unescapeJSONString(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count)
    var index = 0
    func hex4(_ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 4 | (hexValue(bytes[at + offset]) ?? 0) }
        return value
    }
    func appendScalar(_ scalar: UInt32) {
        let scalar = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        output.append(contentsOf: String(Character(scalar)).utf8)
    }
    while index < bytes.count {
        let byte = bytes[index]
        guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else {
            output.append(byte)
            index += 1
            continue
        }
        let escape = bytes[index + 1]
        index += 2
        switch escape {
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u") where index + 4 <= bytes.count:
            var scalar = hex4(index)
            index += 4
            if (0xD800...0xDBFF).contains(scalar), index + 6 <= bytes.count,
               bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                let low = hex4(index + 2)
                if (0xDC00...0xDFFF).contains(low) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
            }
            appendScalar(scalar)
        default: output.append(escape)
        }
    }
    return output
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
