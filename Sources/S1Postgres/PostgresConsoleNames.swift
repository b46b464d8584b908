import PostgresNIO
import S1Common
import S1Storage

/// The `consoles` table on PostgreSQL: which name each console's rows carry (see
/// `ConsoleRegistry`), with SQLite's rules; registrations of several workers take turns (an
/// advisory lock for the transaction).
enum PostgresConsoleNames {
    static let registrationLockKey: Int64 = 0x5331_4947_0002

    /// The tables whose rows carry a console name, renamed together.
    private static let namedTables = ["threats", "agents", "ingest_queue", "ingest_runs", "sync_state"]

    static func register(_ connection: PGConnection, name: String?, url: String?, records: some StoreRecords) throws -> ConsoleRef {
        let ownTransaction = !connection.inTransaction
        if ownTransaction { try connection.query("BEGIN") }
        do {
            try connection.query("SELECT pg_advisory_xact_lock(\(registrationLockKey))")
            let known = try records.consoles()
            let resolved: ConsoleRef
            if let url {
                let byURL = known.first { $0.url == url }
                if let name {
                    if let byURL, byURL.name != name {
                        // A single-console database (`default`) grows into several: its console gets the file's name.
                        guard byURL.name == ConsoleRef.defaultName, !known.contains(where: { $0.name == name }) else {
                            throw ConsoleStoreError.urlHasAnotherName(url: url, stored: byURL.name, given: name)
                        }
                        try rename(connection, from: byURL.name, to: name)
                    } else if let byName = known.first(where: { $0.name == name }), let stored = byName.url, stored != url {
                        throw ConsoleStoreError.nameHasAnotherURL(name: name, stored: stored, given: url)
                    }
                    resolved = ConsoleRef(name: name, url: url)
                } else if let byURL {
                    resolved = ConsoleRef(name: byURL.name, url: url)
                } else if known.allSatisfy({ $0.name == ConsoleRef.defaultName && $0.url == nil }) {
                    resolved = ConsoleRef(name: ConsoleRef.defaultName, url: url)
                } else {
                    var candidate = ConsoleRef.name(forURL: url)
                    var suffix = 2
                    while known.contains(where: { $0.name == candidate }) {
                        candidate = ConsoleRef.name(forURL: url) + "-\(suffix)"
                        suffix += 1
                    }
                    resolved = ConsoleRef(name: candidate, url: url)
                }
            } else {
                resolved = ConsoleRef(name: name ?? ConsoleRef.defaultName, url: nil)
            }
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
        for table in namedTables {
            try connection.query("UPDATE \(table) SET console = $2 WHERE console = $1", binds)
        }
    }
}
