import S1JSON
import S1Common
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits an input file (or stdin) into JSON documents, streaming: memory stays bounded by
/// the largest document, never the input's size.
///
/// Accepted layouts, detected from the start of the input (a UTF-8 BOM is skipped):
/// - newline-delimited JSON: a first line that holds a complete JSON object
///   (`{"data":...}`) makes every non-blank line one document, so a broken line costs only
///   itself;
/// - a top-level JSON array: each element is one document (`file[index]`);
/// - one or more pretty-printed JSON values one after another (also a compact document whose
///   first line does not close it).
///
/// An array element or value whose brackets do not balance (a closer missing or of the wrong
/// kind, an unterminated string) is cut where the next element starts, recognised by the
/// start the broken one has (`{` and its first member name, same indentation), so one broken
/// element costs only itself; the piece goes to the decoder, which reports it.
/// What a document means (a body, a Swimlane action output, ...) is the decoder's business.
public final class DocumentReader {
    /// Documents larger than this are reported and skipped, so one runaway value cannot
    /// exhaust memory.
    public static let defaultMaxDocumentBytes = 64 << 20

    package enum Mode { case start, lines, values, array, afterArray, finished }

    /// Where a value scan stands between chunks.
    package struct ScanState {
        package var depth = 0
        package var inString = false
        package var escape = false
        package var started = false
        package var scalar = false
    }

    /// How a value scan ended (so far).
    package enum ScanResult { case incomplete, complete, broken }

    private let source: ByteSource
    private let maxDocumentBytes: Int
    private let chunkSize: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var documentStart = 0
    private var line = 1
    private var atEnd = false
    private var mode = Mode.start
    private var arrayIndex = 0
    private var scan = ScanState()
    /// The closers (`}` or `]`) the open containers of the value being scanned expect.
    private var closers: [UInt8] = []
    private var oversized = false
    private var pending: InputItem?

    /// The input's name in locations: the path, or `stdin` for `-`.
    public var sourceName: String { source.name }

    /// Opens `path` (`-` for standard input).
    public init(path: String, maxDocumentBytes: Int = DocumentReader.defaultMaxDocumentBytes, chunkSize: Int = 1 << 20) throws(InputError) {
        self.source = try ByteSource(path: path)
        self.maxDocumentBytes = maxDocumentBytes
        self.chunkSize = chunkSize
    }

    /// The next document or problem; `nil` at the end of the input.
    public func next() throws(InputError) -> InputItem? {
        if let item = pending {
            pending = nil
            return item
        }
        while true {
            switch mode {
            case .finished:
                return nil
            case .start:
                if let item = try start() { return item }
            case .lines:
                if let item = try nextLine() { return item }
            case .values:
                if let item = try nextValue() { return item }
            case .array:
                if let item = try nextElement() { return item }
            case .afterArray:
                guard try skipWhitespace() else { mode = .finished; return nil }
                mode = .finished
                return problem(at: line, "unexpected content after the top-level array")
            }
        }
    }

    // MARK: Layout detection

    private func start() throws(InputError) -> InputItem? {
        while buffer.count < 3 && !atEnd { try fill() }
        if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3; documentStart = 3 }
        guard try skipWhitespace() else {
            mode = .finished
            return problem(at: 1, "empty input: no documents")
        }
        if buffer[position] == UInt8(ascii: "[") {
            position += 1
            mode = .array
            return nil
        }
        mode = try firstLineLooksLikeNDJSON() ? .lines : .values
        return nil
    }

    /// True when the first line holds a complete JSON object: `{` ... its matching `}` before
    /// the first newline. A pretty-printed or wrapped document is read as one value instead.
    private func firstLineLooksLikeNDJSON() throws(InputError) -> Bool {
        guard buffer[position] == UInt8(ascii: "{") else { return false }
        var index = position
        var depth = 0
        var inString = false
        var escape = false
        while true {
            while index < buffer.count {
                let byte = buffer[index]
                index += 1
                if byte == UInt8(ascii: "\n") { return false }
                if inString {
                    if escape {
                        escape = false
                    } else if byte == UInt8(ascii: "\\") {
                        escape = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return true }
                default: break
                }
            }
            if atEnd { return false }
            // A first line this long is no pretty-printed document; either way it is too large.
            if index - position > maxDocumentBytes { return true }
            let before = position
            try fill()
            index -= before - position
        }
    }

    // MARK: Newline-delimited JSON

    private func nextLine() throws(InputError) -> InputItem? {
        while true {
            documentStart = position
            let lineNumber = line
            var searched = 0  // bytes after documentStart known to hold no newline
            var newline: Int?
            while true {
                newline = indexOfNewline(from: documentStart + searched)
                if newline != nil || atEnd { break }
                searched = buffer.count - documentStart
                if searched > maxDocumentBytes {
                    oversized = true
                    buffer.removeSubrange(documentStart..<buffer.count)
                    searched = 0
                }
                try fill()
            }
            let lineEnd = newline ?? buffer.count
            position = newline.map { $0 + 1 } ?? buffer.count
            if newline != nil { line += 1 }
            if oversized {
                oversized = false
                return problem(at: lineNumber, "document larger than \(maxDocumentBytes >> 20) MiB, skipped")
            }
            var contentEnd = lineEnd
            while contentEnd > documentStart, isWhitespace(buffer[contentEnd - 1]) { contentEnd -= 1 }
            var contentStart = documentStart
            while contentStart < contentEnd, isWhitespace(buffer[contentStart]) { contentStart += 1 }
            if contentStart < contentEnd {
                return .document(bytes: Array(buffer[contentStart..<contentEnd]), location: location(lineNumber))
            }
            if newline == nil {
                mode = .finished
                return nil
            }
        }
    }

    private func indexOfNewline(from start: Int) -> Int? {
        guard start < buffer.count else { return nil }
        return buffer.withUnsafeBytes { bytes -> Int? in
            guard let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) else { return nil }
            return UnsafeRawPointer(found) - bytes.baseAddress!
        }
    }

    // MARK: Concatenated values

    private func nextValue() throws(InputError) -> InputItem? {
        guard try skipWhitespace() else {
            mode = .finished
            return nil
        }
        return try scanDocument(location: location(line))
    }

    // MARK: Top-level array

    private func nextElement() throws(InputError) -> InputItem? {
        guard try skipWhitespace() else {
            mode = .finished
            return problem(at: line, "the top-level array is not closed (truncated file?)")
        }
        if buffer[position] == UInt8(ascii: "]") {
            position += 1
            mode = .afterArray
            return nil
        }
        if buffer[position] == UInt8(ascii: ",") {
            let item = problem(at: line, index: arrayIndex, "empty array element")
            position += 1
            arrayIndex += 1
            return item
        }
        let here = location(line, index: arrayIndex)
        arrayIndex += 1
        let item = try scanDocument(location: here)
        guard mode == .array, try skipWhitespace() else { return item }
        switch buffer[position] {
        case UInt8(ascii: ","): position += 1
        case UInt8(ascii: "]"): break
        default:
            // A missing comma: report it after this element, then read on as if it were there.
            pending = problem(at: line, index: arrayIndex, "expected ',' or ']' before this element")
        }
        return item
    }

    // MARK: Scanning one value

    /// Scans one JSON value starting at `position` and returns it as a document.
    private func scanDocument(location: DocumentLocation) throws(InputError) -> InputItem {
        documentStart = position
        scan = ScanState()
        closers.removeAll(keepingCapacity: true)
        var result = scanValue()
        while result == .incomplete {
            if buffer.count - documentStart > maxDocumentBytes {
                oversized = true
                buffer.removeSubrange(documentStart..<buffer.count)
                position = documentStart
            }
            if atEnd { break }
            try fill()
            result = scanValue()
        }
        let wasOversized = oversized
        oversized = false
        if result == .complete {
            if wasOversized { return .problem(location: location, reason: "document larger than \(maxDocumentBytes >> 20) MiB, skipped") }
            return .document(bytes: Array(buffer[documentStart..<position]), location: location)
        }
        // Unbalanced, or still open at the end of the input: cut it where the next element
        // starts, so the ones after it are read as usual.
        let brokenOffset = position - documentStart
        if !wasOversized, let cut = try findNextElement() {
            var end = cut.pieceEnd
            while end > documentStart, isWhitespace(buffer[end - 1]) { end -= 1 }
            let piece = Array(buffer[documentStart..<end])
            line = location.line + countNewlines(from: documentStart, to: cut.resume)
            position = cut.resume
            return .document(bytes: piece, location: location)
        }
        if result == .incomplete {
            mode = .finished
            if wasOversized { return .problem(location: location, reason: "document larger than \(maxDocumentBytes >> 20) MiB and incomplete, skipped") }
            return .problem(location: location, reason: "document is incomplete at the end of the input (truncated file?)")
        }
        // A closer of the wrong kind and no next element found: the value ends before it.
        position = documentStart + brokenOffset
        if wasOversized { return .problem(location: location, reason: "document larger than \(maxDocumentBytes >> 20) MiB, skipped") }
        return .document(bytes: Array(buffer[documentStart..<position]), location: location)
    }

    /// Advances `position` through the value: `.complete` once it is, `.broken` at a closer
    /// that does not match its opener (left unconsumed).
    private func scanValue() -> ScanResult {
        var state = scan
        defer { scan = state }
        while position < buffer.count {
            let byte = buffer[position]
            if byte == UInt8(ascii: "\n") { line += 1 }
            if state.inString {
                position += 1
                if state.escape {
                    state.escape = false
                } else if byte == UInt8(ascii: "\\") {
                    state.escape = true
                } else if byte == UInt8(ascii: "\"") {
                    state.inString = false
                    if state.depth == 0 { return .complete }
                }
                continue
            }
            if !state.started {
                state.started = true
                state.scalar = byte != UInt8(ascii: "{") && byte != UInt8(ascii: "[") && byte != UInt8(ascii: "\"")
            }
            if state.scalar {
                switch byte {
                case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "{"),
                     0x20, 0x0A, 0x0D, 0x09:
                    if byte == UInt8(ascii: "\n") { line -= 1 }
                    if position == documentStart { consumeStray() }
                    return .complete
                default:
                    position += 1
                    continue
                }
            }
            position += 1
            switch byte {
            case UInt8(ascii: "\""): state.inString = true
            case UInt8(ascii: "{"):
                state.depth += 1
                closers.append(UInt8(ascii: "}"))
            case UInt8(ascii: "["):
                state.depth += 1
                closers.append(UInt8(ascii: "]"))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard closers.last == byte else {
                    position -= 1
                    return .broken
                }
                closers.removeLast()
                state.depth -= 1
                if state.depth == 0 { return .complete }
            default: break
            }
        }
        // At the end of the input a scalar ends there too.
        return atEnd && state.scalar && position > documentStart ? .complete : .incomplete
    }

    /// Where the element after a broken one (at `documentStart`) starts: the next `{` that
    /// opens with the same bytes as the broken one up to its first member name (indentation
    /// included), after a `,` in an array, at the start of a line or after a `}` otherwise.
    /// Returns where the broken piece ends and where reading resumes; nil when none is
    /// found before the end of the input or within the largest document size.
    private func findNextElement() throws(InputError) -> (pieceEnd: Int, resume: Int)? {
        guard let prefix = elementPrefix() else { return nil }
        var index = documentStart + 1
        var lastSignificant: UInt8 = 0
        var lastSignificantAt = documentStart
        var atLineStart = false
        while true {
            while index < buffer.count {
                let byte = buffer[index]
                if byte == UInt8(ascii: "{") {
                    if index + prefix.count > buffer.count && !atEnd { break }  // read more first
                    if buffer[index...].starts(with: prefix) {
                        if mode == .array && lastSignificant == UInt8(ascii: ",") { return (lastSignificantAt, lastSignificantAt) }
                        if mode == .values && (atLineStart || lastSignificant == UInt8(ascii: "}")) { return (index, index) }
                    }
                }
                switch byte {
                case 0x0A: atLineStart = true
                case 0x20, 0x09, 0x0D: break
                default:
                    lastSignificant = byte
                    lastSignificantAt = index
                    atLineStart = false
                }
                index += 1
            }
            if atEnd || buffer.count - documentStart > maxDocumentBytes { return nil }
            let before = documentStart
            try fill()
            index -= before - documentStart
            lastSignificantAt -= before - documentStart
        }
    }

    /// The start of the value at `documentStart` up to the end of its first member name
    /// (`{"data"`, or `{` + newline + indentation + `"data"`); nil for anything else.
    private func elementPrefix() -> [UInt8]? {
        guard documentStart < buffer.count, buffer[documentStart] == UInt8(ascii: "{") else { return nil }
        var index = documentStart + 1
        while index < buffer.count, isWhitespace(buffer[index]) { index += 1 }
        guard index < buffer.count, buffer[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        while index < buffer.count, index - documentStart < 256 {
            switch buffer[index] {
            case UInt8(ascii: "\\"), 0x0A: return nil
            case UInt8(ascii: "\""): return Array(buffer[documentStart...index])
            default: index += 1
            }
        }
        return nil
    }

    private func countNewlines(from start: Int, to end: Int) -> Int {
        var count = 0
        for index in start..<end where buffer[index] == 0x0A { count += 1 }
        return count
    }

    /// A stray `}` or `]` where a value should start: take it as a one-byte value, so the
    /// decoder reports it instead of the reader looping.
    private func consumeStray() {
        position += 1
    }

    // MARK: Buffer

    /// Skips white space, reading more as needed; false at the end of the input.
    private func skipWhitespace() throws(InputError) -> Bool {
        while true {
            while position < buffer.count {
                let byte = buffer[position]
                guard isWhitespace(byte) else { return true }
                if byte == UInt8(ascii: "\n") { line += 1 }
                position += 1
            }
            if atEnd { return false }
            try fill()
        }
    }

    /// Drops consumed bytes and reads the next chunk.
    private func fill() throws(InputError) {
        let keepFrom = min(documentStart, position)
        if keepFrom > 0 {
            buffer.removeSubrange(0..<keepFrom)
            position -= keepFrom
            documentStart -= keepFrom
        }
        if try source.read(into: &buffer, count: chunkSize) == 0 { atEnd = true }
    }

    private func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private func location(_ line: Int, index: Int? = nil) -> DocumentLocation {
        DocumentLocation(source: source.name, line: line, index: index)
    }

    private func problem(at line: Int, index: Int? = nil, _ reason: String) -> InputItem {
        return .problem(location: location(line, index: index), reason: reason)
    }
}
