import S1Common

/// What a result cell holds.
public enum CellKind: Sendable, Equatable {
    case null, integer, real, text, blob
}

/// A read-only statement's rows, read one at a time: the cells of the current row are valid
/// until the next `step()`. Export reads cells straight from the backend's buffers.
public protocol ResultCursor: AnyObject {
    /// The result's column names, in order.
    var columnNames: [String] { get }
    /// Moves to the next row; false at the end.
    func step() throws -> Bool
    /// Ends the statement (and starts it over on the next `step()`).
    func reset()
    /// What the cell holds.
    func kind(_ column: Int32) -> CellKind
    func int64(_ column: Int32) -> Int64
    func double(_ column: Int32) -> Double
    /// The cell as UTF-8 text (numbers in their shortest text form), without a copy.
    func withText<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// The cell's bytes (for blobs), without a copy.
    func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// The current row as values.
    func currentRow() -> [SQLValue]
}

extension ResultCursor {
    /// Every remaining row as values.
    public func allRows() throws -> [[SQLValue]] {
        var rows: [[SQLValue]] = []
        while try step() { rows.append(currentRow()) }
        reset()
        return rows
    }
}

/// The SQL a `StoreReader` runs: its backend's dialect. Reports that cannot be written once for
/// both (booleans, dates, `LIMIT`, collation, NULL ordering) pick their text by it.
public enum SQLDialect: String, Sendable, Equatable {
    /// SQLite: booleans are 0/1 integers, times are ISO-8601 text.
    case sqlite
    /// PostgreSQL: `boolean`, `timestamptz`, `$n` parameters (the reader turns `?n` into them).
    case postgresql
}

/// A store opened for `query`, `export` and `report`: nothing done through it can change
/// data (a read-only connection or transaction, and every statement checked before it runs).
public protocol StoreReader: AnyObject {
    /// Where the store is, as it may be shown.
    var location: String { get }
    /// The schema version (each backend numbers its own migrations).
    var schemaVersion: Int { get }
    /// The SQL dialect statements given to `query` must be written in.
    var dialect: SQLDialect { get }
    /// Throws unless the reporting views exist.
    func requireViews() throws
    /// The store's tables (the backend's own excluded), in creation order.
    func tableNames() throws -> [String]
    /// The store's views, in creation order.
    func viewNames() throws -> [String]
    /// Exactly one statement, refused when it could write; `?1`... bound to `parameters`.
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> any ResultCursor
    /// Every row of table `name` (checked to be one).
    func selectAll(table name: String) throws -> any ResultCursor
    /// Every row of view `name` (checked to be one).
    func selectAll(view name: String) throws -> any ResultCursor
}

extension StoreReader {
    /// One statement with no parameters.
    public func query(_ sql: String) throws -> any ResultCursor { try query(sql, []) }
}
