import S1Storage
import S1Common
import S1JSON
import S1Model

/// Encodes a statement's rows, straight from SQLite's column bytes into an `OutputSink`
/// buffer, in one `ExportFormat`. No per-row Swift strings: this is the export hot path.
package struct RowEncoder {
    package let options: ExportOptions
    package let columnNames: [String]
    /// `"name":` per column, JSON-escaped once.
    private let jsonKeys: [[UInt8]]
    private var rowsWritten = 0

    package init(options: ExportOptions, columnNames: [String]) {
        self.options = options
        self.columnNames = columnNames
        jsonKeys = columnNames.map { name in
            var buffer = ByteBuffer(capacity: name.utf8.count + 8)
            var name = name
            name.withUTF8 { Self.appendJSONString(UnsafeRawBufferPointer($0), to: &buffer) }
            buffer.append(UInt8(ascii: ":"))
            return Array(buffer.bytes)
        }
    }

    /// What comes before the first row: the header (csv, tsv) or `[` (json).
    package func writePrologue(into buffer: inout ByteBuffer) {
        switch options.format {
        case .csv, .tsv:
            guard options.header else { return }
            for (index, name) in columnNames.enumerated() {
                if index > 0 { buffer.append(separator) }
                var name = name
                name.withUTF8 { appendText(UnsafeRawBufferPointer($0), to: &buffer) }
            }
            appendLineEnd(to: &buffer)
        case .json:
            buffer.append(UInt8(ascii: "["))
        case .jsonl:
            break
        }
    }

    /// What comes after the last row.
    package func writeEpilogue(into buffer: inout ByteBuffer) {
        if options.format == .json {
            buffer.append(rowsWritten == 0 ? Array("]\n".utf8) : Array("\n]\n".utf8))
        }
    }

    private var separator: UInt8 { options.format == .tsv ? 0x09 : UInt8(ascii: ",") }

    private func appendLineEnd(to buffer: inout ByteBuffer) {
        if options.format == .csv { buffer.append(0x0D) }
        buffer.append(0x0A)
    }

    /// Appends the statement's current row.
    package mutating func writeRow<Cursor: ResultCursor>(of statement: Cursor, into buffer: inout ByteBuffer) {
        let count = Int32(columnNames.count)
        switch options.format {
        case .csv, .tsv:
            for column in 0..<count {
                if column > 0 { buffer.append(separator) }
                appendDelimitedCell(statement, column, to: &buffer)
            }
            appendLineEnd(to: &buffer)
        case .jsonl, .json:
            if options.format == .json {
                if rowsWritten > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(0x0A)
            }
            buffer.append(UInt8(ascii: "{"))
            for column in 0..<count {
                if column > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(jsonKeys[Int(column)])
                appendJSONValue(statement, column, to: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
            if options.format == .jsonl { buffer.append(0x0A) }
        }
        rowsWritten += 1
    }

    // MARK: csv and tsv cells

    private func appendDelimitedCell<Cursor: ResultCursor>(_ statement: Cursor, _ column: Int32, to buffer: inout ByteBuffer) {
        switch statement.kind(column) {
        case .null:
            return
        case .integer, .real:
            statement.withText(column) { buffer.append($0) }
        case .blob:
            appendHex(statement, column, to: &buffer)
        case .text:
            statement.withText(column) { appendText($0, to: &buffer) }
        }
    }

    /// `\xHH` for `byte`.
    private static func appendHexEscape(_ byte: UInt8, to buffer: inout ByteBuffer) {
        let digits = Array("0123456789abcdef".utf8)
        buffer.append(0x5C, UInt8(ascii: "x"))
        buffer.append(digits[Int(byte >> 4)], digits[Int(byte & 0x0F)])
    }

    /// A text value (or header name): neutralised, then quoted (csv) or escaped (tsv).
    private func appendText(_ bytes: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        let neutralise = options.neutraliseFormulas && !bytes.isEmpty && Self.startsFormula(bytes[0])
        if options.format == .tsv {
            if neutralise { buffer.append(UInt8(ascii: "'")) }
            // Control characters (ESC, BEL, BS, ... and C1) are escaped as \xHH, so a TSV file
            // shown on a terminal cannot drive it.
            guard bytes.contains(where: { $0 < 0x20 || $0 == 0x5C || $0 == 0x7F || $0 == 0xC2 }) else {
                buffer.append(bytes)
                return
            }
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case 0x5C: buffer.append(0x5C, 0x5C)
                case 0x09: buffer.append(0x5C, UInt8(ascii: "t"))
                case 0x0A: buffer.append(0x5C, UInt8(ascii: "n"))
                case 0x0D: buffer.append(0x5C, UInt8(ascii: "r"))
                case 0x00..<0x20, 0x7F: Self.appendHexEscape(byte, to: &buffer)
                case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]):
                    // A C1 control (U+0080-U+009F), two bytes in UTF-8.
                    index += 1
                    Self.appendHexEscape(bytes[index], to: &buffer)
                default: buffer.append(byte)
                }
                index += 1
            }
            return
        }
        var needsQuotes = bytes.isEmpty
        var hasQuote = false
        for byte in bytes {
            if byte == 0x22 { hasQuote = true; needsQuotes = true; break }
            if byte == 0x2C || byte == 0x0A || byte == 0x0D { needsQuotes = true }
        }
        if !needsQuotes {
            if neutralise { buffer.append(UInt8(ascii: "'")) }
            buffer.append(bytes)
            return
        }
        buffer.append(0x22)
        if neutralise { buffer.append(UInt8(ascii: "'")) }
        if hasQuote {
            for byte in bytes {
                buffer.append(byte)
                if byte == 0x22 { buffer.append(0x22) }
            }
        } else {
            buffer.append(bytes)
        }
        buffer.append(0x22)
    }

    /// `=` `+` `-` `@` tab CR: what a spreadsheet may take as the start of a formula.
    @inline(__always)
    package static func startsFormula(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "=") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "@") || byte == 0x09 || byte == 0x0D
    }

    private func appendHex<Cursor: ResultCursor>(_ statement: Cursor, _ column: Int32, to buffer: inout ByteBuffer) {
        statement.withBlob(column) { blob in
            for byte in blob {
                buffer.append(Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0x0F))
            }
        }
    }

    // MARK: JSON values

    private func appendJSONValue<Cursor: ResultCursor>(_ statement: Cursor, _ column: Int32, to buffer: inout ByteBuffer) {
        switch statement.kind(column) {
        case .null:
            buffer.append([0x6E, 0x75, 0x6C, 0x6C])  // null
        case .integer:
            statement.withText(column) { buffer.append($0) }
        case .real:
            let value = statement.double(column)
            if value.isFinite {
                statement.withText(column) { buffer.append($0) }
            } else {
                buffer.append([0x6E, 0x75, 0x6C, 0x6C])
            }
        case .blob:
            buffer.append(0x22)
            appendHex(statement, column, to: &buffer)
            buffer.append(0x22)
        case .text:
            statement.withText(column) { Self.appendJSONString($0, to: &buffer) }
        }
    }

    /// A JSON string, escaped by S1JSON's `JSONStringEscaping`.
    package static func appendJSONString(_ bytes: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        buffer.append(0x22)
        JSONStringEscaping.forEachEscapedPiece(of: bytes) { buffer.append($0) }
        buffer.append(0x22)
    }

    /// The lower-case hex digit of `value` (0...15).
    @inline(__always)
    package static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }
}
