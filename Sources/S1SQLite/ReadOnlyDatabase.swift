import S1Storage
import S1Common
import S1JSON
import S1Model
import CSQLite
import Foundation

/// A database opened for export, query and report: the file must exist, the connection is
/// `SQLITE_OPEN_READONLY` with `PRAGMA query_only`, and every statement is checked with
/// `Statement.isReadOnly` before it runs, so nothing done through it can change data.
public final class ReadOnlyDatabase: StoreReader {
    /// The read-only connection.
    public let database: Database
    /// The path it was opened with.
    public var path: String { database.path }

    public var location: String { database.path }

    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> any ResultCursor {
        let statement = try prepare(sql)
        statement.bind(parameters)
        return statement
    }

    /// Opens the existing database at `path`; a missing file is an error, never created.
    public init(path: String) throws {
        guard path == ":memory:" || FileManager.default.fileExists(atPath: path) else {
            throw ReportingError.databaseNotFound(path: path)
        }
        database = try StoreOpener.openForReading(path: path)
        try database.execute("PRAGMA query_only = ON")
    }

    /// Prepares exactly one statement, refusing anything that could write.
    public func prepare(_ sql: String) throws -> Statement {
        let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ReportingError.emptyStatement }
        if try hasSecondStatement(sql) { throw ReportingError.multipleStatements(sql: sql) }
        let statement: Statement
        do {
            statement = try database.prepare(sql)
        } catch where error.code == SQLITE_OK {
            throw ReportingError.emptyStatement
        }
        guard statement.isReadOnly else { throw ReportingError.statementNotReadOnly(sql: sql) }
        return statement
    }

    /// The schema version of the file (`PRAGMA user_version`).
    public var schemaVersion: Int { (try? database.userVersion) ?? 0 }

    public var dialect: SQLDialect { .sqlite }

    /// Throws unless the reporting views exist (schema version 2 or later).
    public func requireViews() throws {
        let version = schemaVersion
        if version < 2 { throw ReportingError.viewsMissing(path: path, version: version) }
    }

    // MARK: Tables and views

    /// The names of the database's tables (internal `sqlite_*` ones excluded), in creation order.
    public func tableNames() throws -> [String] { try names(ofType: "table") }

    /// The names of the database's views, in creation order.
    public func viewNames() throws -> [String] { try names(ofType: "view") }

    private func names(ofType type: String) throws -> [String] {
        try database.query("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY rowid", [.text(type)])
            .compactMap { $0.first?.textValue }
    }

    /// `SELECT * FROM "name"`, after checking that `name` is a table (or a view).
    public func selectAll(table name: String) throws -> any ResultCursor {
        let valid = try tableNames()
        guard valid.contains(name) else { throw ReportingError.unknownTable(name: name, valid: valid) }
        return try prepare("SELECT * FROM \(Self.quoteIdentifier(name))")
    }

    /// `SELECT * FROM "name"`, after checking that `name` is a view.
    public func selectAll(view name: String) throws -> any ResultCursor {
        let valid = try viewNames()
        guard valid.contains(name) else { throw ReportingError.unknownView(name: name, valid: valid) }
        return try prepare("SELECT * FROM \(Self.quoteIdentifier(name))")
    }

    /// `name` as a SQL identifier: double-quoted, embedded quotes doubled.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// True when something other than whitespace and comments follows the first statement.
    private func hasSecondStatement(_ sql: String) throws -> Bool {
        var rest = sql
        var first = true
        while true {
            var handle: OpaquePointer?
            var tailText = ""
            let code: Int32 = rest.withCString { base in
                var tail: UnsafePointer<CChar>?
                let code = sqlite3_prepare_v2(database.handle, base, -1, &handle, &tail)
                if let tail { tailText = String(cString: tail) }
                return code
            }
            let prepared = handle != nil
            sqlite3_finalize(handle)
            // A syntax error is reported by the real prepare, with SQLite's message.
            guard code == SQLITE_OK else { return false }
            if prepared && !first { return true }
            if prepared { first = false }
            if tailText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || tailText == rest { return false }
            rest = tailText
        }
    }
}
