import S1Storage
import S1Common
import S1JSON
import S1Model
/// A ready-made report: one read-only SQL statement over the reporting views, taking the
/// `ReportFilter` parameters (?1 since, ?2 site, ?3 limit, ?4 console). It is written once per
/// SQL dialect (`sql` for SQLite, `postgresSQL` for PostgreSQL); both give the same columns,
/// the same rows in the same order, numbers as numbers.
public struct CannedReport: Sendable {
    /// The name `s1ingest report NAME` takes.
    public let name: String
    /// A heading for people.
    public let title: String
    /// True when `limit` applies (the "top N" reports).
    public let limited: Bool
    /// The statement in SQLite's dialect.
    public let sql: String
    /// The same statement in PostgreSQL's: booleans and times are native types, `LIMIT` takes
    /// NULL for all rows, text sorts byte by byte (`COLLATE "C"`, SQLite's BINARY) and NULL
    /// sorts first, as in SQLite.
    public let postgresSQL: String

    public init(name: String, title: String, limited: Bool, sql: String, postgresSQL: String) {
        self.name = name
        self.title = title
        self.limited = limited
        self.sql = sql
        self.postgresSQL = postgresSQL
    }

    /// The result of running a report.
    public struct Result: Sendable {
        public let report: CannedReport
        public let columns: [String]
        public let rows: [[SQLValue]]
    }

    /// Runs the report on a read-only database.
    public func run(on reader: any StoreReader, filter: ReportFilter) throws -> Result {
        let statement = try reader.query(statement(for: reader), filter.parameters(limited: limited))
        let rows = try statement.allRows()
        return Result(report: self, columns: statement.columnNames, rows: rows)
    }

    /// The report's SQL in `reader`'s dialect (and for its schema).
    public func statement(for reader: any StoreReader) -> String {
        Self.sql(sqlite: sql, postgresql: postgresSQL, for: reader)
    }

    /// The report called `name` (one of `all`, or `byConsole`).
    public static func named(_ name: String) throws -> CannedReport {
        guard let report = known.first(where: { $0.name == name }) else {
            throw ReportingError.unknownReport(name: name, valid: known.map(\.name))
        }
        return report
    }

    /// The SQLite schema version whose tables and views carry `console` (migration 0006).
    package static let consoleSchemaVersion = 6

    /// True when `reader`'s tables and views carry `console`: every PostgreSQL schema, SQLite
    /// from schema 6.
    package static func hasConsoles(_ reader: any StoreReader) -> Bool {
        switch reader.dialect {
        case .postgresql: return true
        case .sqlite: return reader.schemaVersion >= consoleSchemaVersion
        }
    }

    /// The `--console` condition (?4) on `threat_overview AS o`.
    package static let consoleScope = "(?4 IS NULL OR o.console = ?4)"

    /// Threats in scope: the `--since`, `--site` and `--console` conditions on `threat_overview AS o`.
    package static let scope = "(?1 IS NULL OR o.created_at >= ?1) AND (?2 IS NULL OR o.site_name = ?2 OR o.site_id = ?2) AND \(consoleScope)"

    /// `scope` in PostgreSQL: `since` read as a `timestamptz` (a date is its midnight UTC: the
    /// session's time zone is UTC), the text parameters typed.
    package static let postgresScope = """
        (?1::timestamptz IS NULL OR o.created_at >= ?1::timestamptz) \
        AND (?2::text IS NULL OR o.site_name = ?2::text OR o.site_id = ?2::text) \
        AND (?4::text IS NULL OR o.console = ?4::text)
        """

    /// `LIMIT ?3` in PostgreSQL, where -1 (no limit) must be NULL.
    package static let postgresLimit = "LIMIT nullif(?3::bigint, -1)"

    /// `sql` as `reader` can run it: a SQLite database older than schema 6 has no `console`
    /// column, so the console condition becomes `?4 IS NULL` (it holds one console, `default`).
    package static func sql(_ sql: String, for reader: any StoreReader) -> String {
        guard !hasConsoles(reader) else { return sql }
        return sql.replacingOccurrences(of: consoleScope, with: "(?4 IS NULL)")
    }

    /// The text for `reader`'s dialect: `postgresql` on PostgreSQL, else `sql(sqlite, for:)`.
    package static func sql(sqlite: String, postgresql: String, for reader: any StoreReader) -> String {
        switch reader.dialect {
        case .postgresql: return postgresql
        case .sqlite: return sql(sqlite, for: reader)
        }
    }

    public static let topClassifications = CannedReport(
        name: "top-classifications", title: "Top classifications", limited: true,
        sql: """
            SELECT coalesce(o.classification, '(none)') AS classification, count(*) AS threats,
                   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent,
                   sum(o.is_resolved = 0) AS open
            FROM threat_overview AS o WHERE \(scope)
            GROUP BY 1 ORDER BY threats DESC, classification LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT coalesce(o.classification, '(none)') AS classification, count(*) AS threats,
                       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent,
                       sum((NOT o.is_resolved)::int) AS open
                FROM threat_overview AS o WHERE \(postgresScope)
                GROUP BY 1) AS r
            ORDER BY threats DESC, classification COLLATE "C" \(postgresLimit)
            """)

    public static let unresolvedBySite = CannedReport(
        name: "unresolved-by-site", title: "Unresolved threats by site", limited: true,
        sql: """
            SELECT coalesce(min(o.site_name), '(none)') AS site, count(*) AS open_threats,
                   sum(o.incident_status = 'unresolved') AS unresolved,
                   sum(o.incident_status = 'in_progress') AS in_progress,
                   count(DISTINCT o.agent_id) AS agents
            FROM threat_overview AS o WHERE o.is_resolved = 0 AND \(scope)
            GROUP BY o.site_id ORDER BY open_threats DESC, site, o.site_id LIMIT ?3
            """,
        postgresSQL: """
            SELECT site, open_threats, unresolved, in_progress, agents FROM (
                SELECT coalesce(min(o.site_name COLLATE "C"), '(none)') AS site, o.site_id, count(*) AS open_threats,
                       sum((o.incident_status = 'unresolved')::int) AS unresolved,
                       sum((o.incident_status = 'in_progress')::int) AS in_progress,
                       count(DISTINCT o.agent_id) AS agents
                FROM threat_overview AS o WHERE NOT o.is_resolved AND \(postgresScope)
                GROUP BY o.site_id) AS r
            ORDER BY open_threats DESC, site COLLATE "C", site_id COLLATE "C" NULLS FIRST \(postgresLimit)
            """)

    public static let topAgents = CannedReport(
        name: "top-agents", title: "Agents with the most threats", limited: true,
        sql: """
            SELECT coalesce(o.agent_computer_name, o.agent_id, '(none)') AS agent, o.agent_id,
                   o.site_name AS site, count(*) AS threats, sum(o.is_resolved = 0) AS open,
                   max(o.created_at) AS last_seen_at
            FROM threat_overview AS o WHERE \(scope)
            GROUP BY o.agent_id ORDER BY threats DESC, open DESC, agent, o.agent_id LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT coalesce((array_agg(o.agent_computer_name ORDER BY o.created_at DESC NULLS LAST))[1], o.agent_id, '(none)') AS agent,
                       o.agent_id, (array_agg(o.site_name ORDER BY o.created_at DESC NULLS LAST))[1] AS site,
                       count(*) AS threats, sum((NOT o.is_resolved)::int) AS open, max(o.created_at) AS last_seen_at
                FROM threat_overview AS o WHERE \(postgresScope)
                GROUP BY o.agent_id) AS r
            ORDER BY threats DESC, open DESC NULLS LAST, agent COLLATE "C", agent_id COLLATE "C" NULLS FIRST \(postgresLimit)
            """)

    public static let mitigationFailureRate = CannedReport(
        name: "mitigation-failure-rate", title: "Mitigation failure rate by action", limited: true,
        sql: """
            SELECT coalesce(m.action, '(none)') AS action, count(*) AS actions,
                   sum(m.status = 'success' AND coalesce(m.actions_failed, 0) = 0) AS succeeded,
                   sum(m.status = 'failed' OR coalesce(m.actions_failed, 0) > 0) AS failed,
                   round(100.0 * sum(m.status = 'failed' OR coalesce(m.actions_failed, 0) > 0) / count(*), 1) AS failure_rate_percent
            FROM mitigations AS m JOIN threat_overview AS o ON o.threat_id = m.threat_id WHERE \(scope)
            GROUP BY 1 ORDER BY failure_rate_percent DESC, action LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT coalesce(m.action, '(none)') AS action, count(*) AS actions,
                       sum((m.status = 'success' AND coalesce(m.actions_failed, 0) = 0)::int) AS succeeded,
                       sum((m.status = 'failed' OR coalesce(m.actions_failed, 0) > 0)::int) AS failed,
                       round(100.0 * sum((m.status = 'failed' OR coalesce(m.actions_failed, 0) > 0)::int) / count(*), 1) AS failure_rate_percent
                FROM mitigations AS m JOIN threat_overview AS o ON o.threat_id = m.threat_id WHERE \(postgresScope)
                GROUP BY 1) AS r
            ORDER BY failure_rate_percent DESC NULLS LAST, action COLLATE "C" \(postgresLimit)
            """)

    public static let topTechniques = CannedReport(
        name: "top-techniques", title: "Top MITRE ATT&CK techniques", limited: true,
        sql: """
            SELECT x.name AS technique, x.tactic, count(DISTINCT x.threat_id) AS threats, count(*) AS occurrences
            FROM indicator_techniques AS x JOIN threat_overview AS o ON o.threat_id = x.threat_id
            WHERE x.name IS NOT NULL AND \(scope)
            GROUP BY x.name, x.tactic ORDER BY threats DESC, occurrences DESC, technique, x.tactic LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT x.name AS technique, x.tactic, count(DISTINCT x.threat_id) AS threats, count(*) AS occurrences
                FROM indicator_techniques AS x JOIN threat_overview AS o ON o.threat_id = x.threat_id
                WHERE x.name IS NOT NULL AND \(postgresScope)
                GROUP BY x.name, x.tactic) AS r
            ORDER BY threats DESC, occurrences DESC, technique COLLATE "C", tactic COLLATE "C" NULLS FIRST \(postgresLimit)
            """)

    public static let threatsPerDay = CannedReport(
        name: "threats-per-day", title: "New threats per day (UTC)", limited: false,
        sql: """
            SELECT substr(o.created_at, 1, 10) AS day, count(*) AS threats, sum(o.is_resolved = 0) AS open
            FROM threat_overview AS o WHERE o.created_at IS NOT NULL AND \(scope)
            GROUP BY day ORDER BY day LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS threats,
                       sum((NOT o.is_resolved)::int) AS open
                FROM threat_overview AS o WHERE o.created_at IS NOT NULL AND \(postgresScope)
                GROUP BY 1) AS r
            ORDER BY day COLLATE "C" \(postgresLimit)
            """)

    /// Threats per console: every console of the database (`consoles`) with its threats in
    /// scope, open and resolved ones, agents and newest `created_at`. `s1ingest report` prints
    /// it first when the database holds several consoles and no `--console` is given.
    public static let byConsole = CannedReport(
        name: "by-console", title: "Threats by console", limited: false,
        sql: """
            SELECT c.console, c.url, coalesce(s.threats, 0) AS threats, coalesce(s.open, 0) AS open,
                   coalesce(s.resolved, 0) AS resolved, coalesce(s.agents, 0) AS agents, s.last_seen_at
            FROM consoles AS c LEFT JOIN (
                SELECT o.console, count(*) AS threats, sum(o.is_resolved = 0) AS open, sum(o.is_resolved) AS resolved,
                       count(DISTINCT o.agent_id) AS agents, max(o.created_at) AS last_seen_at
                FROM threat_overview AS o WHERE \(scope)
                GROUP BY o.console) AS s ON s.console = c.console
            WHERE ?4 IS NULL OR c.console = ?4
            ORDER BY threats DESC, c.console LIMIT ?3
            """,
        postgresSQL: """
            SELECT * FROM (
                SELECT c.console, c.url, coalesce(s.threats, 0) AS threats, coalesce(s.open, 0) AS open,
                       coalesce(s.resolved, 0) AS resolved, coalesce(s.agents, 0) AS agents, s.last_seen_at
                FROM consoles AS c LEFT JOIN (
                    SELECT o.console, count(*) AS threats, sum((NOT o.is_resolved)::int) AS open, sum(o.is_resolved::int) AS resolved,
                           count(DISTINCT o.agent_id) AS agents, max(o.created_at) AS last_seen_at
                    FROM threat_overview AS o WHERE \(postgresScope)
                    GROUP BY o.console) AS s ON s.console = c.console
                WHERE ?4::text IS NULL OR c.console = ?4::text) AS r
            ORDER BY threats DESC, console COLLATE "C" \(postgresLimit)
            """)

    /// Every canned report, in the order `s1ingest report` prints them.
    public static let all: [CannedReport] = [
        topClassifications, unresolvedBySite, topAgents, mitigationFailureRate, topTechniques, threatsPerDay,
    ]

    /// Every report `s1ingest report NAME` takes: `all` and `byConsole`.
    public static let known: [CannedReport] = all + [byConsole]
}
