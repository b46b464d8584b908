import S1Storage
import S1Common
import S1JSON
import S1Model
/// The SQLite statements the writer stores flattened rows with.
extension Table {
    /// The INSERT for this table: an upsert for keyed parents, plain for child rows, with
    /// `rowCount` rows of placeholders (child tables only; one statement per analysis and
    /// table costs far less than one per row). Threats and agents end with their `console`,
    /// which an update keeps (a conflict is refused before the insert).
    package func insertSQL(rowCount: Int = 1) -> String {
        let columns = self.columns + (hasConsole ? ["console"] : [])
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let insert = "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rowCount).joined(separator: ", ")
        let key: String
        switch self {
        case .agents: key = "agent_id"
        case .threats, .rawAnalyses: key = "threat_id"
        default: return insert.replacingOccurrences(of: "INSERT INTO", with: "INSERT OR IGNORE INTO")
        }
        let updates = columns.filter { $0 != key && $0 != "console" && !Self.keptOnUpdate.contains($0) }
            .map { "\($0) = excluded.\($0)" }
            .joined(separator: ", ")
        return "\(insert) ON CONFLICT(\(key)) DO UPDATE SET \(updates)"
    }

    /// True for the tables whose rows say which console they came from.
    package var hasConsole: Bool { self == .threats || self == .agents }
}

extension FlattenedAnalysis {
    /// Binds the values of `rows` one after another to `statement` (parameters 1...n)
    /// without copying text, steps it once and resets it, all while the arena is pinned.
    package func insert(_ rows: ArraySlice<Row>, with statement: Statement, console: String? = nil) throws {
        try arena.withUnsafeBytes { bytes in
            defer { statement.reset() }
            var parameter: Int32 = 1
            for row in rows {
                for value in values(of: row) {
                    switch value {
                    case .null: statement.bindNull(parameter)
                    case .integer(let number): statement.bind(number, at: parameter)
                    case .text(let start, let count):
                        statement.bindTextNoCopy(UnsafeRawBufferPointer(rebasing: bytes[Int(start) ..< Int(start + count)]), at: parameter)
                    }
                    parameter += 1
                }
            }
            if let console { statement.bind(console, at: parameter) }
            _ = try statement.step()
        }
    }
}
