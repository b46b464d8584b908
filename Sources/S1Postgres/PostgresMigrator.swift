import PostgresNIO
import S1Common
import S1Storage

/// One file of `migrations/postgresql/`, carried inside the binary.
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    /// The file's statements, one by one (the extended protocol runs one statement at a time).
    public var statements: [String] { PostgresSQLSplitter.statements(sql) }
}

/// Brings a PostgreSQL database to the newest schema: each migration in one transaction,
/// recorded in `schema_migrations`; an advisory lock keeps two processes from migrating at once.
public enum PostgresMigrator {
    public static let migrations: [PostgresMigration] = embeddedMigrationFiles.map { file in
        PostgresMigration(version: Int(file.name.prefix { $0.isNumber }) ?? 0, name: file.name, sql: file.sql)
    }.sorted { $0.version < $1.version }

    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The advisory lock key of `migrate` ("S1IG" migrations).
    static let migrationLockKey: Int64 = 0x5331_4947_0001

    /// The schema version of the database: 0 when it has no `schema_migrations` yet.
    static func currentVersion(_ connection: PGConnection) throws -> Int {
        let exists = try connection.scalar("SELECT to_regclass('schema_migrations') IS NOT NULL", as: Bool.self) ?? false
        guard exists else { return 0 }
        return try connection.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations", as: Int.self) ?? 0
    }

    /// Throws unless `migrate` may work on this database.
    static func checkMigratable(_ connection: PGConnection) throws {
        let current = try currentVersion(connection)
        if current > latestVersion {
            throw PostgresStoreError.databaseNewer(location: connection.location.shown, version: current, supported: latestVersion)
        }
        if current == 0 {
            let tables = try connection.scalar("""
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p')
                """, as: Int.self) ?? 0
            if tables > 0 { throw PostgresStoreError.notAnS1ingestDatabase(location: connection.location.shown) }
        }
    }

    @discardableResult
    static func migrate(_ connection: PGConnection) throws -> MigrationReport {
        try connection.query("SELECT pg_advisory_lock(\(migrationLockKey))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(migrationLockKey))") }
        try checkMigratable(connection)
        let from = try currentVersion(connection)
        var applied: [String] = []
        for migration in migrations where migration.version > from {
            do {
                try connection.query("BEGIN")
                for statement in migration.statements { try connection.query(statement) }
                var binds = PostgresBindings()
                binds.append(migration.version)
                binds.text(migration.name)
                try connection.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())", binds)
                try connection.query("COMMIT")
                applied.append(migration.name)
            } catch {
                _ = try? connection.query("ROLLBACK")
                let detail = (error as? PostgresStoreError).map { "\($0)" } ?? "\(error)"
                throw PostgresStoreError.migrationFailed(name: migration.name, detail: detail)
            }
        }
        return MigrationReport(fromVersion: from, toVersion: try currentVersion(connection), applied: applied)
    }
}

/// Splits SQL text into statements at semicolons outside quotes, comments and dollar quotes.
/// Comments stay with the statement they are in.
public enum PostgresSQLSplitter {
    public static func statements(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var result: [String] = []
        var start = 0
        var index = 0
        func flush(_ end: Int) {
            let text = String(decoding: bytes[start ..< end], as: UTF8.self)
            if hasCode(text) { result.append(text.trimmingWhitespace()) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index + 1 < bytes.count && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                index += 1
                while index < bytes.count && bytes[index] != byte { index += 1 }
                index += 1
            case UInt8(ascii: "$"):
                // A dollar quote: $tag$ ... $tag$.
                var end = index + 1
                while end < bytes.count, bytes[end] == UInt8(ascii: "_") || (bytes[end] >= 0x41 && bytes[end] <= 0x5A) || (bytes[end] >= 0x61 && bytes[end] <= 0x7A) { end += 1 }
                if end < bytes.count && bytes[end] == UInt8(ascii: "$") {
                    let tag = Array(bytes[index ... end])
                    index = end + 1
                    while index + tag.count <= bytes.count && Array(bytes[index ..< index + tag.count]) != tag { index += 1 }
                    index += tag.count
                } else {
                    index += 1
                }
            case UInt8(ascii: ";"):
                flush(index)
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < bytes.count { flush(bytes.count) }
        return result
    }

    /// True when `text` holds something besides white space and comments.
    private static func hasCode(_ text: String) -> Bool {
        for line in text.split(separator: "\n") {
            let code = line.split(separator: "--", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if code.contains(where: { !$0.isWhitespace }) { return true }
        }
        return false
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
