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

    /// The tables whose rows carry a console name, renamed together.
    private static let namedTables = ["threats", "agents", "ingest_queue", "ingest_runs", "sync_state"]

    /// Records that a run uses the console (`ConsoleRegistry.registerConsole`), in one
    /// transaction (or inside the open one).
    package static func register(_ database: Database, name: String?, url: String?) throws -> ConsoleRef {
        let work = { () throws -> ConsoleRef in
            let now = currentTimestamp()
            let known = try all(database)
            let resolved: ConsoleRef
            if let url {
                let byURL = known.first { $0.url == url }
                if let name {
                    if let byURL, byURL.name != name {
                        // A single-console database (`default`) grows into several: its console gets the file's name.
                        guard byURL.name == ConsoleRef.defaultName, !known.contains(where: { $0.name == name }) else {
                            throw ConsoleStoreError.urlHasAnotherName(url: url, stored: byURL.name, given: name)
                        }
                        try rename(database, from: byURL.name, to: name)
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
        for table in namedTables {
            try database.prepare("UPDATE \(table) SET console = ?2 WHERE console = ?1").run([.text(old), .text(new)])
        }
    }
}
