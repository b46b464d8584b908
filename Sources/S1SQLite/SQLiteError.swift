import S1Storage
import S1Common
import S1JSON
import S1Model
import CSQLite

/// An error reported by SQLite, with the statement or operation it came from.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, ...).
    public let code: Int32
    /// SQLite's own message for the failure.
    public let message: String
    /// What we were doing: the SQL text or a short description.
    public let context: String

    public init(code: Int32, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    package init(code: Int32, connection: OpaquePointer?, context: String) {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        self.init(code: code, message: message, context: context)
    }

    /// True when another connection holds the write lock for longer than the busy timeout.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }

    /// True when a database opened read-only was asked to write.
    public var isReadOnly: Bool { code & 0xff == SQLITE_READONLY }

    public var description: String {
        let shortContext = context.count > 120 ? String(context.prefix(117)) + "..." : context
        return "SQLite error \(code): \(message) (in: \(shortContext))"
    }
}
