/// A parsed JSON document: its own copy of the bytes and a tape of nodes over them.
///
/// Values are not converted when parsed; each node records its byte range, so strings
/// without escapes and numbers are read straight from the input. Numbers keep their text,
/// which is why a 19-digit ID sent as a JSON number survives exactly.
public final class JSONDocument: @unchecked Sendable {
    /// The kind of a JSON value.
    public enum Kind: UInt8, Sendable {
        case null, `false`, `true`, number, string, array, object
    }

    /// One value on the tape: 12 bytes, so the tape of even a document made only of tiny
    /// values (`[0,0,0,...]`, a value every 2 bytes) is at most 6 times its size.
    struct Node {
        /// Bits 0-27: strings, the first byte after the opening quote; others, the first byte
        /// of the value. Bits 28-30: the kind. Bit 31: a string with a backslash escape.
        var packed: UInt32
        /// Strings: the closing quote. Others: one past the last byte.
        var end: Int32
        /// The tape index just past this node's subtree (its next sibling).
        var next: Int32

        init(kind: Kind, escaped: Bool, start: Int32, end: Int32, next: Int32) {
            packed = UInt32(start) | UInt32(kind.rawValue) << 28 | (escaped ? 1 << 31 : 0)
            self.end = end
            self.next = next
        }

        var kind: Kind { Kind(rawValue: UInt8(truncatingIfNeeded: packed >> 28) & 7).unsafelyUnwrapped }
        /// For strings: contains a backslash escape.
        var escaped: Bool { packed & (1 << 31) != 0 }
        var start: Int32 { Int32(bitPattern: packed & JSONDocument.maxBytes) }
    }

    /// Largest document: byte offsets take 28 bits of a node.
    static let maxBytes: UInt32 = (1 << 28) - 1

    /// The document's bytes (exactly the input slice it was parsed from).
    public let bytes: [UInt8]
    var tape: [Node]

    /// Parses `bytes` as one JSON value, allowing surrounding white space only.
    public init(bytes: [UInt8], maxDepth: Int = 256) throws(JSONParseError) {
        self.bytes = bytes
        // Every value but the first follows a byte of its own ('[', '{', ',' or ':') and has one
        // at least, so a document has at most bytes/2 + 1 values: reserved once, the tape never
        // grows by copying (which held the old and the doubled new one at once), and only the
        // nodes written are touched.
        var tape: [Node] = []
        tape.reserveCapacity(bytes.count / 2 + 1)
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(input: buffer, maxDepth: maxDepth)
            try parser.parseDocument(into: &tape)
        }
        self.tape = tape
    }

    /// Parses UTF-8 text.
    public convenience init(text: String) throws(JSONParseError) {
        try self.init(bytes: Array(text.utf8))
    }

    /// The top-level value.
    public var root: JSONValue { JSONValue(document: self, index: 0) }
}

/// A position in a JSON input that could not be parsed, and why.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte offset from the start of the parsed slice.
    public let offset: Int
    /// 1-based line within the parsed slice.
    public let line: Int
    /// 1-based column (in bytes) within its line.
    public let column: Int
    /// What is wrong, e.g. `expected ':' after a member name, found '1'`.
    public let reason: String

    /// The reason with its line and column.
    public var description: String { "\(reason) at line \(line), column \(column)" }
}
