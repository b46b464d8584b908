import S1JSON

/// One libFuzzer input: parse it, and when it parses, check what the parser promises. Any
/// broken promise traps (`precondition`), which libFuzzer keeps as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    // S1JSON and a second reading of the grammar agree on what is JSON.
    let grammatical = ReferenceGrammar.accepts(bytes)
    let document: JSONDocument
    do {
        document = try JSONDocument(bytes: bytes)
    } catch {
        precondition(!grammatical, "refused, but the reference grammar accepts it: \(error)")
        // A refusal says where: inside the input, on a real line and column.
        precondition((0...bytes.count).contains(error.offset), "error offset \(error.offset) outside 0...\(bytes.count)")
        precondition(error.line >= 1 && error.column >= 1 && !error.reason.isEmpty, "bad error \(error)")
        return 0
    }
    precondition(grammatical, "accepted, but the reference grammar refuses it")
    let root = document.root
    // The root's raw bytes are exactly the input without surrounding white space.
    var start = 0, end = bytes.count
    while start < end, isWhitespace(bytes[start]) { start += 1 }
    while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
    precondition(root.withRawBytes { Array($0) } == Array(bytes[start..<end]), "root raw bytes differ from the input")
    check(root)
    // Written again (compact, strings re-escaped from their decoded bytes, numbers as they
    // were), it parses, is the same JSON, and writing it again gives the same bytes.
    var written: [UInt8] = []
    write(root, to: &written)
    let again: JSONDocument
    do { again = try JSONDocument(bytes: written) } catch {
        preconditionFailure("the re-written document does not parse: \(error)")
    }
    precondition(root.isEquivalent(to: again.root) && again.root.isEquivalent(to: root), "re-written document not equivalent")
    precondition(root.isEquivalent(to: root), "not equivalent to itself")
    var writtenAgain: [UInt8] = []
    write(again.root, to: &writtenAgain)
    precondition(writtenAgain == written, "writing is not idempotent")
    return 0
}

func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

/// Checks one value and everything in it.
func check(_ value: JSONValue) {
    let raw = value.withRawBytes { Array($0) }
    switch value.kind {
    case .null: precondition(raw == Array("null".utf8))
    case .true: precondition(raw == Array("true".utf8) && value.bool == true)
    case .false: precondition(raw == Array("false".utf8) && value.bool == false)
    case .number:
        // Exactly a number's bytes: parsed alone, the same number, byte for byte.
        let alone = try? JSONDocument(bytes: raw)
        precondition(alone?.root.kind == .number && alone?.root.withRawBytes({ Array($0) }) == raw, "number bytes \(raw)")
        // int64 agrees with Swift's own integer parsing.
        let text = value.rawText
        precondition(value.int64 == Int64(text), "int64 of \(text): \(String(describing: value.int64))")
        precondition(value.double != nil, "double of \(text)")
    case .string:
        precondition(raw.count >= 2 && raw.first == 0x22 && raw.last == 0x22, "string raw bytes \(raw)")
        // The decoded bytes, escaped and parsed again, decode to the same bytes.
        let decoded = value.withStringBytes { Array($0) }
        precondition(decoded == Array(value.string!.utf8), "decoded bytes are not the string's UTF-8")
        var literal: [UInt8] = []
        decoded.withUnsafeBytes { JSONStringEscaping.appendLiteral($0, to: &literal) }
        let reparsed = try? JSONDocument(bytes: literal)
        precondition(reparsed?.root.withStringBytes({ Array($0) }) == decoded, "escaped string does not round-trip")
        precondition(value.isEquivalent(to: reparsed!.root), "escaped string not equivalent")
    case .array:
        var visited: [JSONValue] = []
        value.forEachElement { visited.append($0) }
        let elements = value.elements
        precondition(elements.count == value.count && visited.count == elements.count, "array count")
        for (element, seen) in zip(elements, visited) {
            precondition(element.isEquivalent(to: seen))
            check(element)
        }
    case .object:
        let members = value.members
        precondition(members.count == value.count, "object count")
        var hint: Int32 = 0
        var firstByName: [[UInt8]: JSONValue] = [:]
        for member in members {
            let name = Array(member.name.utf8)
            // Looked up in order with a hint, each member is found where it is.
            let hinted = value.member(name, hint: &hint)
            precondition(hinted != nil && hinted!.withRawBytes({ $0.baseAddress }) == member.value.withRawBytes({ $0.baseAddress }), "hinted lookup")
            // Looked up by name, the first member of that name.
            if firstByName[name] == nil { firstByName[name] = member.value }
            let found = name.withUnsafeBytes { value.member($0) }
            precondition(found != nil && found!.withRawBytes({ $0.baseAddress }) == firstByName[name]!.withRawBytes({ $0.baseAddress }), "lookup by name")
            check(member.value)
        }
    }
}

/// A compact JSON text of `value`: strings re-escaped from their decoded bytes, numbers as written.
func write(_ value: JSONValue, to output: inout [UInt8]) {
    switch value.kind {
    case .null, .true, .false, .number:
        value.withRawBytes { output.append(contentsOf: $0) }
    case .string:
        value.withStringBytes { JSONStringEscaping.appendLiteral($0, to: &output) }
    case .array:
        output.append(UInt8(ascii: "["))
        for (index, element) in value.elements.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            write(element, to: &output)
        }
        output.append(UInt8(ascii: "]"))
    case .object:
        output.append(UInt8(ascii: "{"))
        for (index, member) in value.members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            Array(member.name.utf8).withUnsafeBytes { JSONStringEscaping.appendLiteral($0, to: &output) }
            output.append(UInt8(ascii: ":"))
            write(member.value, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }
}
