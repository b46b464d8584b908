import S1Storage
import S1Common
import S1JSON
import S1Model
import CSQLite

/// A prepared statement, reusable through `reset()`. Not thread-safe: use it only from the
/// connection's owner.
public final class Statement {
    package let handle: OpaquePointer
    package let sql: String
    package unowned let database: Database

    package init(database: Database, sql: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw SQLiteError(code: code, connection: database.handle, context: sql)
        }
        self.handle = handle
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// Number of `?` parameters.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Number of result columns.
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The names of the result columns.
    public var columnNames: [String] {
        (0..<columnCount).map { String(cString: sqlite3_column_name(handle, Int32($0))) }
    }

    /// True when the statement cannot change the database.
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    // MARK: Binding (indexes are 1-based, as in SQLite)

    public func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

    public func bind(_ value: Int64, at index: Int32) { sqlite3_bind_int64(handle, index, value) }

    public func bind(_ value: Double, at index: Int32) { sqlite3_bind_double(handle, index, value) }

    public func bind(_ value: String, at index: Int32) {
        var value = value
        value.withUTF8 { bytes in
            bindText(UnsafeRawBufferPointer(bytes), at: index)
        }
    }

    /// Binds UTF-8 bytes as TEXT; SQLite copies them.
    public func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32) {
        bindText(bytes, at: index, destructor: sqliteTransient)
    }

    /// Binds UTF-8 bytes as TEXT without copying them: the bytes must stay valid and
    /// unchanged until the statement has been stepped and `reset()` (which unbinds them).
    package func bindTextNoCopy(_ bytes: UnsafeRawBufferPointer, at index: Int32) {
        bindText(bytes, at: index, destructor: nil)
    }

    private func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32, destructor: sqlite3_destructor_type?) {
        guard let pointer = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), !bytes.isEmpty else {
            // SQLite copies the empty string: a Swift literal's pointer lives only for the call.
            sqlite3_bind_text64(handle, index, "", 0, sqliteTransient, UInt8(SQLITE_UTF8))
            return
        }
        sqlite3_bind_text64(handle, index, pointer, sqlite3_uint64(bytes.count), destructor, UInt8(SQLITE_UTF8))
    }

    public func bind(_ value: SQLValue, at index: Int32) {
        switch value {
        case .null: bindNull(index)
        case .integer(let v): bind(v, at: index)
        case .real(let v): bind(v, at: index)
        case .text(let v): bind(v, at: index)
        }
    }

    /// Binds `values` to parameters 1...n.
    public func bind(_ values: [SQLValue]) {
        for (offset, value) in values.enumerated() { bind(value, at: Int32(offset + 1)) }
    }

    // MARK: Running

    /// Steps once: true when a row is available, false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: code, connection: database.handle, context: sql)
        }
    }

    /// Clears the bindings and rewinds, ready for the next use.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds, runs to completion and resets.
    public func run(_ values: [SQLValue] = []) throws(SQLiteError) {
        defer { reset() }
        bind(values)
        while try step() {}
    }

    /// Binds, runs and returns every row.
    public func rows(_ values: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        defer { reset() }
        bind(values)
        var result: [[SQLValue]] = []
        while try step() { result.append(currentRow()) }
        return result
    }

    // MARK: Reading the current row

    public func columnType(_ index: Int32) -> Int32 { sqlite3_column_type(handle, index) }

    public func isNull(_ index: Int32) -> Bool { columnType(index) == SQLITE_NULL }

    public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    public func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }

    public func string(_ index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's bytes as UTF-8 text, valid until the next step or reset.
    public func withText<R>(_ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let text = sqlite3_column_text(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return try body(UnsafeRawBufferPointer(start: text, count: text == nil ? 0 : count))
    }

    public func value(_ index: Int32) -> SQLValue {
        switch columnType(index) {
        case SQLITE_INTEGER: return .integer(int64(index))
        case SQLITE_FLOAT: return .real(double(index))
        case SQLITE_NULL: return .null
        default: return .text(string(index) ?? "")
        }
    }

    public func currentRow() -> [SQLValue] { (0..<Int32(columnCount)).map { value($0) } }
}

/// SQLITE_TRANSIENT: SQLite makes its own copy of bound bytes.
package let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Statement: ResultCursor {
    public func kind(_ column: Int32) -> CellKind {
        switch columnType(column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer
        case SQLITE_FLOAT: return .real
        case SQLITE_BLOB: return .blob
        default: return .text
        }
    }

    public func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let count = Int(sqlite3_column_bytes(handle, column))
        let blob = sqlite3_column_blob(handle, column)
        return try body(UnsafeRawBufferPointer(start: blob, count: blob == nil ? 0 : count))
    }
}
