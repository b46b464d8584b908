import S1Storage
import S1Common
import S1JSON
import S1Model
/// The `sync_state` table: one watermark per console and site filter.
public enum SyncState {
    /// The stored watermark for `key`, or nil before the first successful sync.
    public static func watermark(_ database: Database, key: String) throws -> String? {
        try database.scalar("SELECT watermark FROM sync_state WHERE console = ?", [.text(key)]).textValue
    }

    /// Moves the watermark for `key` to `watermark` when that is later than the stored one
    /// (it never moves back). Returns true when it moved.
    @discardableResult
    public static func advance(_ database: Database, key: String, to watermark: String, runId: Int64?) throws -> Bool {
        try database.immediateTransaction {
            try database.prepare("""
                INSERT INTO sync_state (console, watermark, updated_at, run_id) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (console) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at,
                    run_id = excluded.run_id
                WHERE excluded.watermark > sync_state.watermark
                """).run([.text(key), .text(watermark), .text(currentTimestamp()), runId.map { .integer($0) } ?? .null])
            return database.changes > 0
        }
    }

    /// Every stored watermark, by key.
    public static func all(_ database: Database) throws -> [(key: String, watermark: String, updatedAt: String)] {
        try database.query("SELECT console, watermark, updated_at FROM sync_state ORDER BY console").map {
            ($0[0].textValue ?? "", $0[1].textValue ?? "", $0[2].textValue ?? "")
        }
    }
}
