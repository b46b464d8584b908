import S1Storage
import S1Common
import S1JSON
import S1Model
/// Which threats a report covers: created at or after `since`, on site `site`, of console
/// `console`, top `limit` rows.
public struct ReportFilter: Sendable, Equatable {
    /// The lower bound on `created_at`: a date `YYYY-MM-DD`, or a time in the stored form
    /// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), so text comparison is time comparison.
    public let since: String?
    /// A site name or site ID.
    public let site: String?
    /// Rows of each "top" report; `nil` for all.
    public let limit: Int?
    /// The console's name (`consoles.console`); `nil` for every console.
    public let console: String?

    /// Reads `since` with `TimeGrammar`, as every command does: a duration back from `now`
    /// (`7d`, `24h`) or a time (`2024-11-01`, `2024-11-01T08:00Z`, `...+02:00`).
    public init(since: String? = nil, site: String? = nil, limit: Int? = 10, console: String? = nil, now: Double? = nil) throws {
        do {
            // A date stays `YYYY-MM-DD`: it sorts before every time of that day, and reads as given.
            self.since = try since.map { text in
                let bound = try TimeGrammar.since(text, now: now ?? wallClockSeconds())
                return text.utf8.count == 10 ? text : bound
            }
        } catch {
            throw ReportingError.invalidSince(since ?? "")
        }
        self.site = site
        self.limit = limit
        self.console = console
    }

    /// The four parameters every canned report's SQL takes: ?1 since, ?2 site, ?3 limit,
    /// ?4 console (NULL: all).
    package func parameters(limited: Bool) -> [SQLValue] {
        [since.sqlValue, site.sqlValue, .integer(limited ? Int64(limit ?? -1) : -1), console.sqlValue]
    }
}

extension ReportFilter {
    /// The sites the database knows (from threats and agents), by name, for a `--site` that
    /// names none of them.
    public static func knownSites(in reader: any StoreReader) throws -> [(id: String?, name: String?)] {
        try reader.query(CannedReport.sql(sqlite: """
            SELECT DISTINCT site_id, site_name FROM (
                SELECT detection_site_id AS site_id, detection_site_name AS site_name FROM threats
                UNION SELECT site_id, site_name FROM agents)
            WHERE site_id IS NOT NULL OR site_name IS NOT NULL ORDER BY site_name, site_id
            """, postgresql: """
            SELECT site_id, site_name FROM (
                SELECT detection_site_id AS site_id, detection_site_name AS site_name FROM threats
                UNION SELECT site_id, site_name FROM agents) AS s
            WHERE site_id IS NOT NULL OR site_name IS NOT NULL
            ORDER BY site_name COLLATE "C" NULLS FIRST, site_id COLLATE "C" NULLS FIRST
            """, for: reader)).allRows().map { (id: $0[0].textValue, name: $0[1].textValue) }
    }

    /// The consoles the database holds (`consoles.console`), by name; empty for a SQLite
    /// database older than schema 6 (which knows no consoles).
    public static func knownConsoles(in reader: any StoreReader) throws -> [String] {
        guard CannedReport.hasConsoles(reader) else { return [] }
        return try reader.query(CannedReport.sql(sqlite: "SELECT console FROM consoles ORDER BY console",
                                                 postgresql: "SELECT console FROM consoles ORDER BY console COLLATE \"C\"", for: reader))
            .allRows().compactMap { $0.first?.textValue }
    }
}
