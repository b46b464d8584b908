import S1JSON
import S1Common
/// Where a document came from, for messages a user can act on: `file:line`, or
/// `file[index] (line N)` for elements of a top-level JSON array.
public struct DocumentLocation: Sendable, Equatable, CustomStringConvertible {
    /// The file path, or `stdin`.
    public var source: String
    /// 1-based line on which the document starts.
    public var line: Int
    /// 0-based index within a top-level JSON array, when the input is one.
    public var index: Int?

    public init(source: String, line: Int, index: Int? = nil) {
        self.source = source
        self.line = line
        self.index = index
    }

    public var description: String {
        if let index { return "\(source)[\(index)] (line \(line))" }
        return "\(source):\(line)"
    }
}

/// One item read from an input: a document's bytes, or a problem found while splitting.
public enum InputItem: Sendable {
    case document(bytes: [UInt8], location: DocumentLocation)
    case problem(location: DocumentLocation, reason: String)
}
