import S1Common
/// Why export, query or report could not read what was asked. Each message says what to do.
public enum ReportingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// There is no file at the database path (nothing is created for a reader).
    case databaseNotFound(path: String)
    /// The SQL would change the database; readers refuse it before running it.
    case statementNotReadOnly(sql: String)
    /// More than one statement was given; readers run exactly one.
    case multipleStatements(sql: String)
    /// The SQL text holds no statement at all.
    case emptyStatement
    /// `--table` named no table of the database.
    case unknownTable(name: String, valid: [String])
    /// `--view` named no view of the database.
    case unknownView(name: String, valid: [String])
    /// `report NAME` named no canned report.
    case unknownReport(name: String, valid: [String])
    /// The database predates the reporting views (schema version 2).
    case viewsMissing(path: String, version: Int)
    /// `--since` is not a duration or time (`TimeGrammar`).
    case invalidSince(String)

    public var description: String {
        switch self {
        case .databaseNotFound(let path):
            return "no database at \(path): import something first (s1ingest import --db \(path) FILE), or pass --db / set S1INGEST_DB"
        case .statementNotReadOnly(let sql):
            return "refusing to run a statement that can change the database (export, query and report are read-only): \(Self.short(sql))"
        case .multipleStatements(let sql):
            return "give exactly one SQL statement, found more than one in: \(Self.short(sql))"
        case .emptyStatement:
            return "the SQL text holds no statement"
        case .unknownTable(let name, let valid):
            return "no table named '\(name)'; tables: \(valid.joined(separator: ", "))"
        case .unknownView(let name, let valid):
            return valid.isEmpty
                ? "no view named '\(name)', and this database has no views: run s1ingest migrate --db PATH to add them"
                : "no view named '\(name)'; views: \(valid.joined(separator: ", "))"
        case .unknownReport(let name, let valid):
            return "no report named '\(name)'; reports: \(valid.joined(separator: ", "))"
        case .viewsMissing(let path, let version):
            return "\(path) is at schema version \(version), before the reporting views: run s1ingest migrate --db \(path) first"
        case .invalidSince(let text):
            do {
                _ = try TimeGrammar.parseSince(text)
                return "--since '\(text)' is not a duration or time"
            } catch {
                return "--since: \(error)"
            }
        }
    }

    package static func short(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 120 ? String(flat.prefix(117)) + "..." : flat
    }
}
