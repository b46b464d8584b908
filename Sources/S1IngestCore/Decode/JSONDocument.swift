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

    struct Node {
        var kind: Kind
        /// For strings: contains a backslash escape.
        var escaped: Bool
        /// Strings: first byte after the opening quote. Others: first byte of the value.
        var start: Int32
        /// Strings: the closing quote. Others: one past the last byte.
        var end: Int32
        /// The tape index just past this node's subtree (its next sibling).
        var next: Int32
        /// Arrays: elements; objects: members. Scalars: 0.
        var count: Int32
    }

    /// The document's bytes (exactly the input slice it was parsed from).
    public let bytes: [UInt8]
    var tape: [Node]

    /// Parses `bytes` as one JSON value, allowing surrounding white space only.
    public init(bytes: [UInt8], maxDepth: Int = 256) throws(JSONParseError) {
        self.bytes = bytes
        var tape: [Node] = []
        tape.reserveCapacity(bytes.count / 12 + 8)
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
    /// 1-based line and column within the parsed slice.
    public let line: Int
    public let column: Int
    public let reason: String

    public var description: String { "\(reason) at line \(line), column \(column)" }
}
