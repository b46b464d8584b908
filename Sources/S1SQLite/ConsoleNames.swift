import S1Common
import S1Storage

/// The `consoles` table: which name each console's rows carry (see `ConsoleRegistry`).
package enum ConsoleNames {
    /// The schema version that brought the console dimension (`0006_consoles.sql`).
    package static let schemaVersion = 6

    /// Every console, by name (none in a database from before the console dimension).
    package static func all(_ database: Database) throws -> [ConsoleRecord] {
        guard try database.userVersion >= schemaVersion else { return [] }
        return try database.query("SELECT console, url, first_seen_at, last_seen_at FROM consoles ORDER BY console").map {
            ConsoleRecord(name: $0[0].textValue ?? "", url: $0[1].textValue, firstSeenAt: $0[2].textValue ?? "", lastSeenAt: $0[3].textValue ?? "")
        }
    }

    /// Records that a run uses the console (`ConsoleRegistry.registerConsole`), in one
    /// transaction (or inside the open one).
    package static func register(_ database: Database, name: String?, url: String?) throws -> ConsoleRef {
        let work = { () throws -> ConsoleRef in
            let now = currentTimestamp()
            let (resolved, rename) = try ConsoleNaming.resolve(name: name, url: url, known: try all(database))
            if let rename { try Self.rename(database, from: rename.from, to: rename.to) }
            try database.prepare("""
                INSERT INTO consoles (console, url, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)
                ON CONFLICT (console) DO UPDATE SET url = coalesce(excluded.url, consoles.url), last_seen_at = excluded.last_seen_at
                """).run([.text(resolved.name), resolved.url.sqlValue, .text(now)])
            return resolved
        }
        return database.isInTransaction ? try work() : try database.immediateTransaction(work)
    }

    /// Gives console `old`'s rows the name `new`.
    private static func rename(_ database: Database, from old: String, to new: String) throws {
        try database.prepare("UPDATE consoles SET console = ?2 WHERE console = ?1").run([.text(old), .text(new)])
        for table in ConsoleNaming.namedTables {
            try database.prepare("UPDATE \(table) SET console = ?2 WHERE console = ?1").run([.text(old), .text(new)])
        }
    }
}
