import PostgresNIO
import S1Common
import S1Storage

/// The `consoles` table on PostgreSQL: which name each console's rows carry (see
/// `ConsoleRegistry`), with SQLite's rules; registrations of several workers take turns (an
/// advisory lock for the transaction).
enum PostgresConsoleNames {
    static let registrationLockKey: Int64 = 0x5331_4947_0002

    static func register(_ connection: PGConnection, name: String?, url: String?, records: some StoreRecords) throws -> ConsoleRef {
        let ownTransaction = !connection.inTransaction
        if ownTransaction { try connection.query("BEGIN") }
        do {
            try connection.query("SELECT pg_advisory_xact_lock(\(registrationLockKey))")
            let (resolved, rename) = try ConsoleNaming.resolve(name: name, url: url, known: try records.consoles())
            if let rename { try Self.rename(connection, from: rename.from, to: rename.to) }
            var binds = PostgresBindings()
            binds.text(resolved.name)
            binds.text(resolved.url)
            try connection.query("""
                INSERT INTO consoles (console, url, first_seen_at, last_seen_at) VALUES ($1, $2, now(), now())
                ON CONFLICT (console) DO UPDATE SET url = coalesce(excluded.url, consoles.url), last_seen_at = excluded.last_seen_at
                """, binds)
            if ownTransaction { try connection.query("COMMIT") }
            return resolved
        } catch {
            if ownTransaction { _ = try? connection.query("ROLLBACK") }
            throw error
        }
    }

    /// Gives console `old`'s rows the name `new`.
    private static func rename(_ connection: PGConnection, from old: String, to new: String) throws {
        var binds = PostgresBindings()
        binds.text(old)
        binds.text(new)
        try connection.query("UPDATE consoles SET console = $2 WHERE console = $1", binds)
        for table in ConsoleNaming.namedTables {
            try connection.query("UPDATE \(table) SET console = $2 WHERE console = $1", binds)
        }
    }
}
