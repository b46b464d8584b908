import S1Storage
import S1Common
import S1JSON
import S1Model
/// The `sync_state` table: one watermark per console URL and site filter (`sync_key`), with the console's name.
public enum SyncState {
    /// The stored watermark for `key`, or nil before the first successful sync.
    public static func watermark(_ database: Database, key: String) throws -> String? {
        try database.scalar("SELECT watermark FROM sync_state WHERE sync_key = ?", [.text(key)]).textValue
    }

    /// Moves the watermark for `key` to `watermark` when that is later than the stored one
    /// (it never moves back). Returns true when it moved.
    @discardableResult
    public static func advance(_ database: Database, key: String, console: String = ConsoleRef.defaultName, to watermark: String,
                               runId: Int64?) throws -> Bool {
        let advance = {
            try database.prepare("""
                INSERT INTO sync_state (sync_key, console, watermark, updated_at, run_id) VALUES (?1, ?5, ?2, ?3, ?4)
                ON CONFLICT (sync_key) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at,
                    run_id = excluded.run_id, console = excluded.console
                WHERE excluded.watermark > sync_state.watermark
                """).run([.text(key), .text(watermark), .text(currentTimestamp()), runId.map { .integer($0) } ?? .null, .text(console)])
            return database.changes > 0
        }
        // Inside a shared batch (several consoles), the batch's commit makes it durable.
        return database.isInTransaction ? try advance() : try database.immediateTransaction(advance)
    }

    /// Every stored watermark, by key.
    public static func all(_ database: Database) throws -> [(key: String, console: String, watermark: String, updatedAt: String)] {
        let sql = try database.userVersion >= ConsoleNames.schemaVersion
            ? "SELECT sync_key, console, watermark, updated_at FROM sync_state ORDER BY console, sync_key"
            : "SELECT console, 'default', watermark, updated_at FROM sync_state ORDER BY console"
        return try database.query(sql).map {
            ($0[0].textValue ?? "", $0[1].textValue ?? "", $0[2].textValue ?? "", $0[3].textValue ?? "")
        }
    }
}
