import S1Storage
import S1Common
import S1JSON
import S1Model
/// `s1ingest query SQL`: one read-only statement, printed for a person or a program.
public struct QueryJob: Sendable {
    /// How the rows are printed.
    public enum Style: Sendable, Equatable {
        /// An aligned table of at most `maxRows` rows (it is held in memory to align it).
        case table(maxRows: Int)
        /// RFC 4180 CSV, streamed (see `ExportFormat.csv`).
        case csv
        /// A JSON array of objects, streamed.
        case json
    }

    /// What was printed.
    public struct Outcome: Sendable, Equatable {
        /// Rows printed.
        public let rows: Int
        /// True when the table stopped at `maxRows` with more rows left.
        public let truncated: Bool

        public init(rows: Int, truncated: Bool) {
            self.rows = rows
            self.truncated = truncated
        }
    }

    public var databasePath: String
    public var sql: String
    public var style: Style
    /// Neutralise spreadsheet formulas in `.csv` output.
    public var neutraliseFormulas: Bool

    public init(databasePath: String, sql: String, style: Style = .table(maxRows: 1000), neutraliseFormulas: Bool = true) {
        self.databasePath = databasePath
        self.sql = sql
        self.style = style
        self.neutraliseFormulas = neutraliseFormulas
    }

    /// Runs the statement on a read-only connection and writes its rows to `sink`.
    @discardableResult
    public func run(to sink: OutputSink, reader: any StoreReader) throws -> Outcome {
        let statement = try reader.query(sql)
        switch style {
        case .csv:
            let rows = try Exporter.export(statement, to: sink, options: ExportOptions(format: .csv, neutraliseFormulas: neutraliseFormulas))
            return Outcome(rows: rows, truncated: false)
        case .json:
            let rows = try Exporter.export(statement, to: sink, options: ExportOptions(format: .json, neutraliseFormulas: false))
            return Outcome(rows: rows, truncated: false)
        case .table(let maxRows):
            defer { statement.reset() }
            var rows: [[SQLValue]] = []
            var truncated = false
            while try statement.step() {
                if rows.count == maxRows { truncated = true; break }
                rows.append(statement.currentRow())
            }
            sink.write(TextTable(columns: statement.columnNames, rows: rows).render())
            sink.write(truncated
                ? "(first \(rows.count) rows; use --csv or --json for all of them)\n"
                : "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n")
            try sink.flush()
            return Outcome(rows: rows.count, truncated: truncated)
        }
    }
}
