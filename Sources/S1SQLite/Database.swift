import S1Storage
import S1Common
import S1JSON
import S1Model
import CSQLite
import CSQLiteSupport

/// One connection to a SQLite database file. Not thread-safe: a connection has one owner
/// (the single writer, or one reader), which is why it is not `Sendable`.
public final class Database {
    /// How a database file is opened.
    public enum Mode: Sendable {
        /// Read and write, creating the file when missing.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only: nothing done through this connection can change the file.
        case readOnly
    }

    package let handle: OpaquePointer
    /// The path the connection was opened with.
    public let path: String
    /// Objects that live as long as the connection (the writer's run lock).
    public var retainedResources: [AnyObject] = []

    /// Opens `path` (`:memory:` for a private in-memory database).
    public init(path: String, mode: Mode = .readWriteCreate, busyTimeoutMilliseconds: Int32 = 10_000) throws(SQLiteError) {
        _ = Self.processSettings
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SQLiteError(code: code, connection: handle, context: "opening \(path)")
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
    }

    /// Applied once, before the first connection: no global memory-statistics mutex.
    private static let processSettings: Int32 = s1_sqlite_configure()

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The linked SQLite library's version, e.g. `3.40.1`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Runs one or more SQL statements that return nothing (DDL, PRAGMA, BEGIN, ...).
    public func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: code, message: message, context: sql)
        }
    }

    /// Prepares a statement the caller owns.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs `sql` with `values` and returns every row.
    public func query(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        try prepare(sql).rows(values)
    }

    /// The first column of the first row, or NULL when there is none.
    public func scalar(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> SQLValue {
        try query(sql, values).first?.first ?? .null
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Configuration

    /// Page size of a database this program creates. Large pages mean several times fewer
    /// WAL frames, system calls and B-tree splits per stored analysis (a 5 KB body fits in
    /// one page instead of spilling to an overflow page): `scripts/bench-import.sh` measured
    /// about 1.5 times the import rate of SQLite's default 4,096 on the 2-core machine.
    /// A file that already exists keeps the page size it was created with.
    public static let newDatabasePageSize = 65536

    /// The writer's page cache, in KiB. A batch of analyses that fits in it is written to
    /// the WAL once, at commit, instead of spilling mid-transaction and being read back:
    /// 32 MiB instead of 16 cut a 60,000-analysis import from 8.9 s to 8.1 s (peak RSS 96 ->
    /// 113 MiB), measured with `s1ingest import` on the 2-core machine.
    public static let writerCacheKiB = 32768

    /// Settings for the one writer: WAL, `synchronous=NORMAL`, foreign keys enforced. A new,
    /// empty file gets `newDatabasePageSize` first (the page size is fixed once WAL is on).
    public func configureForWriting() throws(SQLiteError) {
        try execute("PRAGMA page_size=\(Self.newDatabasePageSize); PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-\(Self.writerCacheKiB);")
    }

    /// `PRAGMA user_version`: the schema version this database is at.
    public var userVersion: Int {
        get throws(SQLiteError) { Int(try scalar("PRAGMA user_version").integerValue ?? 0) }
    }

    // MARK: Transactions

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back when it throws.
    /// Runs `body` in a deferred transaction that is always rolled back: one consistent
    /// snapshot for reads, on read-only connections too.
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        defer { try? execute("ROLLBACK") }
        return try body()
    }

    public func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
