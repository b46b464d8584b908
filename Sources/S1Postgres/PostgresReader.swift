import Foundation
import NIOCore
import PostgresNIO
import S1Common
import S1Storage

/// A PostgreSQL database opened for `query`, `export` and `report`: everything runs inside one
/// `READ ONLY` transaction, and each statement is checked first (exactly one, and one that
/// reads: SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN), so nothing done through it changes data.
/// A query's rows are streamed: read through a server-side cursor `fetchRows` at a time, so an
/// export of a whole table holds one page in memory, not the table.
public final class PostgresReader: StoreReader {
    let connection: PGConnection
    /// The rows a cursor fetches at a time.
    var fetchRows = 1000
    /// Numbers the cursors this reader declares.
    private var cursors = 0

    public var location: String { connection.location.shown }
    public let schemaVersion: Int
    public var dialect: SQLDialect { .postgresql }

    init(connection: PGConnection) throws {
        self.connection = connection
        let version = try PostgresMigrator.currentVersion(connection)
        if version == 0 { throw PostgresStoreError.notMigrated(location: connection.location.shown) }
        schemaVersion = version
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        // After a first query the transaction can no longer be made read-write.
        try connection.query("SELECT 1")
    }

    deinit {
        _ = try? connection.query("ROLLBACK")
        connection.close()
    }

    public func requireViews() throws {
        if schemaVersion < 2 { throw ReportingError.viewsMissing(path: location, version: schemaVersion) }
    }

    public func tableNames() throws -> [String] { try names(kind: "r") }

    public func viewNames() throws -> [String] { try names(kind: "v") }

    private func names(kind: String) throws -> [String] {
        var binds = PostgresBindings()
        binds.text(kind)
        return try connection.query("""
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind = $1::"char" ORDER BY c.oid
            """, binds).map { try $0[0].decode(String.self) }
    }

    public func selectAll(table name: String) throws -> any ResultCursor {
        let valid = try tableNames()
        guard valid.contains(name) else { throw ReportingError.unknownTable(name: name, valid: valid) }
        return try query("SELECT * FROM \(Self.quoteIdentifier(name))", [])
    }

    public func selectAll(view name: String) throws -> any ResultCursor {
        let valid = try viewNames()
        guard valid.contains(name) else { throw ReportingError.unknownView(name: name, valid: valid) }
        return try query("SELECT * FROM \(Self.quoteIdentifier(name))", [])
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The first words a statement that only reads may start with.
    static let readingKeywords: Set<String> = ["select", "with", "values", "table", "show", "explain"]

    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> any ResultCursor {
        let statements = PostgresSQLSplitter.statements(sql)
        guard let statement = statements.first else { throw ReportingError.emptyStatement }
        guard statements.count == 1 else { throw ReportingError.multipleStatements(sql: sql) }
        let firstWord = Self.firstWord(statement)
        guard Self.readingKeywords.contains(firstWord) else { throw ReportingError.statementNotReadOnly(sql: sql) }
        var binds = PostgresBindings()
        for parameter in parameters {
            switch parameter {
            case .null: binds.appendNull()
            case .integer(let value): binds.append(value)
            case .real(let value): binds.append(value)
            case .text(let value): binds.untyped(value)
            }
        }
        let numbered = Self.numberedPlaceholders(statement)
        if Self.cursorKeywords.contains(firstWord) {
            cursors += 1
            let cursor = PostgresCursor(reader: self, name: "s1ingest_cursor_\(cursors)", statement: numbered, binds: binds, sql: sql)
            // The first page now: a statement the server refuses fails here, as before.
            if try cursor.open() { return cursor }
        }
        do {
            let result = try connection.connection.query(PostgresQuery(unsafeSQL: numbered, binds: binds), logger: PGConnection.logger).wait()
            let rows = result.rows.map { Array($0) }
            return PostgresCursor(columnNames: columnNames(of: rows, statement: statement, binds: binds), rows: rows)
        } catch {
            throw failed(error, sql: sql)
        }
    }

    /// The statements a cursor can run (`DECLARE ... CURSOR FOR` takes a query, not SHOW or EXPLAIN).
    static let cursorKeywords: Set<String> = ["select", "with", "values", "table"]

    /// `error` of a statement, as the reader reports it; the transaction it aborted is replaced
    /// by a new read-only one for the next statement.
    func failed(_ error: any Error, sql: String) -> any Error {
        let mapped = PGConnection.mapError(error, location: connection.location, connecting: false)
        _ = try? connection.query("ROLLBACK")
        _ = try? connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _ = try? connection.query("SELECT 1")
        if case .server(_, let detail) = mapped, detail.hasSuffix("[25006]") { return ReportingError.statementNotReadOnly(sql: sql) }
        return mapped
    }

    /// The column names of `statement`, from its first row; when it returned none, from the
    /// server's description of it (postgres-nio hands column names only with rows: this asks for
    /// one row of NULLs of the same shape).
    func columnNames(of rows: [[PostgresCell]], statement: String, binds: PostgresBindings) -> [String] {
        if let first = rows.first { return first.map(\.columnName) }
        let described = try? connection.connection.query(PostgresQuery(unsafeSQL: """
            SELECT s.* FROM (SELECT 1) AS one LEFT JOIN (\(Self.numberedPlaceholders(statement))) AS s ON false
            """, binds: binds), logger: PGConnection.logger).wait()
        return described?.rows.first.map { $0.map(\.columnName) } ?? []
    }

    static func firstWord(_ statement: String) -> String {
        var text = Substring(statement)
        while true {
            text = text.drop { $0.isWhitespace || $0 == "(" }
            if text.hasPrefix("--") {
                text = text.drop { $0 != "\n" }
            } else if text.hasPrefix("/*"), let end = text.range(of: "*/") {
                text = text[end.upperBound...]
            } else {
                break
            }
        }
        return text.prefix { $0.isLetter }.lowercased()
    }

    /// SQLite's `?1` and `?` placeholders as PostgreSQL's `$1` (outside quotes).
    static func numberedPlaceholders(_ sql: String) -> String {
        var result = ""
        var next = 1
        var quote: Character?
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                result.append(character)
                if character == open { quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                result.append(character)
            } else if character == "?" {
                var digits = ""
                while let digit = pending, digit.isNumber {
                    digits.append(digit)
                    pending = characters.next()
                }
                if digits.isEmpty {
                    result += "$\(next)"
                    next += 1
                } else {
                    result += "$" + digits
                }
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// The rows of one statement, read from the server's binary answer: all at once, or a page at
/// a time from a server-side cursor (`DECLARE ... NO SCROLL CURSOR`, then `FETCH`).
final class PostgresCursor: ResultCursor {
    private(set) var columnNames: [String]
    /// The page of rows held.
    private(set) var rows: [[PostgresCell]]
    private var index = -1

    /// The server-side cursor's reader, name and statement; nil for rows read all at once.
    private let reader: PostgresReader?
    private let name: String
    private let statement: String
    private let binds: PostgresBindings
    /// The statement as the user wrote it, for errors.
    private let sql: String
    /// Whether the server-side cursor is declared (and not yet closed).
    private var isOpen = false
    /// Whether the last FETCH returned a full page (more may follow).
    private var morePages = false

    init(columnNames: [String], rows: [[PostgresCell]]) {
        self.columnNames = columnNames
        self.rows = rows
        reader = nil
        name = ""
        statement = ""
        binds = PostgresBindings()
        sql = ""
    }

    init(reader: PostgresReader, name: String, statement: String, binds: PostgresBindings, sql: String) {
        self.reader = reader
        self.name = name
        self.statement = statement
        self.binds = binds
        self.sql = sql
        columnNames = []
        rows = []
    }

    deinit { close() }

    /// Declares the server-side cursor and fetches the first page; false when the server does
    /// not take the statement as a cursor's (a data-modifying WITH, say: the caller runs it
    /// plainly, for the error it gets then).
    func open() throws -> Bool {
        guard let reader else { return false }
        do {
            _ = try reader.connection.connection.query(
                PostgresQuery(unsafeSQL: "DECLARE \(name) NO SCROLL CURSOR FOR \(statement)", binds: binds), logger: PGConnection.logger).wait()
        } catch {
            _ = reader.failed(error, sql: sql)
            return false
        }
        isOpen = true
        try fetch()
        columnNames = reader.columnNames(of: rows, statement: statement, binds: binds)
        return true
    }

    /// The next page.
    private func fetch() throws {
        guard let reader else { return }
        do {
            let result = try reader.connection.connection.query(
                PostgresQuery(unsafeSQL: "FETCH FORWARD \(reader.fetchRows) FROM \(name)"), logger: PGConnection.logger).wait()
            rows = result.rows.map { Array($0) }
        } catch {
            isOpen = false
            rows = []
            morePages = false
            throw reader.failed(error, sql: sql)
        }
        morePages = rows.count == reader.fetchRows
        index = -1
    }

    func step() throws -> Bool {
        index += 1
        if index < rows.count { return true }
        guard reader != nil else { return false }
        if !isOpen {
            // After `reset`: the statement again, from its first row.
            guard try open() else { return false }
        } else if morePages {
            try fetch()
        } else {
            return false
        }
        index = 0
        return !rows.isEmpty
    }

    func reset() {
        index = -1
        guard reader != nil else { return }
        close()
        rows = []
        morePages = false
    }

    private func close() {
        guard isOpen, let reader else { return }
        isOpen = false
        _ = try? reader.connection.connection.query(PostgresQuery(unsafeSQL: "CLOSE \(name)"), logger: PGConnection.logger).wait()
    }

    private func cell(_ column: Int32) -> PostgresCell { rows[index][Int(column)] }

    func kind(_ column: Int32) -> CellKind {
        let cell = cell(column)
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .bool, .oid: return .integer
        case .float4, .float8, .numeric: return .real
        case .bytea: return .blob
        default: return .text
        }
    }

    func int64(_ column: Int32) -> Int64 {
        let cell = cell(column)
        if cell.dataType == .bool { return (try? cell.decode(Bool.self)) == true ? 1 : 0 }
        if let value = try? cell.decode(Int64.self) { return value }
        return Int64(double(column))
    }

    func double(_ column: Int32) -> Double {
        let cell = cell(column)
        // Through its decimal text: the nearest Double, as SQLite reads the same number
        // (NSDecimalNumber's doubleValue can be one unit in the last place off: 33.3 as 33.300000000000004).
        if cell.dataType == .numeric, let value = try? cell.decode(Decimal.self) {
            return Double(value.description) ?? NSDecimalNumber(decimal: value).doubleValue
        }
        if let value = try? cell.decode(Double.self) { return value }
        if let value = try? cell.decode(Int64.self) { return Double(value) }
        return 0
    }

    func withText<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var text = text(column)
        return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let bytes = cell(column).bytes.map { Array($0.readableBytesView) } ?? []
        return try bytes.withUnsafeBytes { try body($0) }
    }

    /// The cell as text: numbers in their shortest form, times as s1ingest stores them.
    func text(_ column: Int32) -> String {
        let cell = cell(column)
        guard let buffer = cell.bytes else { return "" }
        switch kind(column) {
        case .integer: return String(int64(column))
        case .real: return "\(double(column))"
        case .null: return ""
        case .blob: return String(decoding: buffer.readableBytesView, as: UTF8.self)
        case .text: break
        }
        switch cell.dataType {
        case .timestamptz, .timestamp:
            guard let micros = buffer.getInteger(at: buffer.readerIndex, as: Int64.self) else { return "" }
            return Self.isoText(microsSince2000: micros)
        case .date:
            guard let days = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return "" }
            return String(Self.isoText(microsSince2000: Int64(days) * 86_400_000_000).prefix(10))
        case .jsonb:
            return String(decoding: buffer.readableBytesView.dropFirst(), as: UTF8.self)
        case .uuid:
            if let uuid = try? cell.decode(UUID.self) { return uuid.uuidString.lowercased() }
            return ""
        default:
            return String(decoding: buffer.readableBytesView, as: UTF8.self)
        }
    }

    func currentRow() -> [SQLValue] {
        (0 ..< columnNames.count).map { index -> SQLValue in
            let column = Int32(index)
            switch kind(column) {
            case .null: return .null
            case .integer: return .integer(int64(column))
            case .real: return .real(double(column))
            case .text: return .text(text(column))
            case .blob: return .text(text(column))
            }
        }
    }

    /// Microseconds since 2000-01-01 UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    static func isoText(microsSince2000 micros: Int64) -> String {
        let (year, month, day, hour, minute, second, fraction) = civilTime(microsSince2000: micros)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):"
            + "\(pad(second, 2)).\(pad(fraction, 6))Z"
    }
}

/// The UTC calendar date, time and microseconds of a PostgreSQL timestamp (microseconds since
/// 2000-01-01, its binary form; before 1970 too).
func civilTime(microsSince2000 micros: Int64)
    -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, micros: Int64) {
    let unixMicros = micros + 946_684_800_000_000
    let seconds = unixMicros >= 0 ? unixMicros / 1_000_000 : (unixMicros - 999_999) / 1_000_000
    let time = civilTime(secondsSince1970: seconds)
    return (time.year, time.month, time.day, time.hour, time.minute, time.second, unixMicros - seconds * 1_000_000)
}
