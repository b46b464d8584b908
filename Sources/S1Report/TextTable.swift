import S1Storage
import S1Common
import S1JSON
import S1Model
/// Rows as an aligned plain-text table for a terminal: a header, a rule, numbers right-aligned,
/// NULL shown as `NULL`, line breaks as `⏎`, other control characters escaped
/// (``terminalSafe(_:)``), long cells cut at `maxCellWidth` with `…`.
public struct TextTable: Sendable {
    public let columns: [String]
    public let rows: [[SQLValue]]
    public var maxCellWidth = 60

    public init(columns: [String], rows: [[SQLValue]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The table as text, each line ending with a newline.
    public func render() -> String {
        let cells = rows.map { $0.map(display) }
        var widths = columns.map { terminalSafe($0).count }
        for row in cells {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        let numeric = columns.indices.map { index in
            !rows.isEmpty && rows.allSatisfy { row in
                switch row[index] {
                case .integer, .real, .null: return true
                case .text: return false
                }
            }
        }
        func line(_ values: [String], rightAlign: [Bool]) -> String {
            values.enumerated().map { index, value in
                let pad = String(repeating: " ", count: widths[index] - value.count)
                return rightAlign[index] ? pad + value : value + pad
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        var text = line(columns.map(terminalSafe), rightAlign: numeric)
        text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in cells { text += line(row, rightAlign: numeric) }
        return text
    }

    package func display(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let text):
            var flat = text.replacingOccurrences(of: "\r\n", with: "⏎").replacingOccurrences(of: "\n", with: "⏎")
                .replacingOccurrences(of: "\r", with: "⏎").replacingOccurrences(of: "\t", with: " ")
            flat = terminalSafe(flat)
            if flat.count > maxCellWidth { flat = String(flat.prefix(maxCellWidth - 1)) + "…" }
            return flat
        }
    }
}

extension String {
    package func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
