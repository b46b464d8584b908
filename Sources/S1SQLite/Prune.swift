import S1Storage
import S1Common
import S1JSON
import S1Model
/// `s1ingest prune`: removes what is older than a cutoff, in one transaction.
///
/// "Older" is `threats.last_ingested_at` (when s1ingest last read an analysis of the threat,
/// changed or not) for whole threats, and `raw_analyses.ingested_at` for raw bodies: a
/// threat the console keeps updating is re-read by every sync and so never ages out.
public enum Pruner {
    public typealias Report = PruneReport


    /// Deletes raw bodies stored before `cutoff` (`rawOnly`), or whole threats last ingested
    /// before it with every child row, their raw body and their queue entry, and then every
    /// agent left with no threat, with its interfaces and their addresses (a later analysis
    /// of one of its threats stores the agent again).
    /// With `console` (a name) only that console's threats and raw bodies (those of its
    /// threats) are candidates, and only its agents are removed; other consoles' rows stay.
    public static func prune(_ database: Database, olderThan cutoff: String, rawOnly: Bool, dryRun: Bool = false,
                             console: String? = nil) throws -> Report {
        var report = Report(cutoff: cutoff, rawOnly: rawOnly, dryRun: dryRun, deleted: [])
        // The console conditions only when one is given: a dry run may read a database not
        // yet migrated to schema 6 (no console column).
        let threatsOfConsole = console == nil ? "" : " AND console = ?2"
        let rawOfConsole = console == nil ? "" : " AND threat_id IN (SELECT threat_id FROM main.threats WHERE console = ?2)"
        let agentsOfConsole = console == nil ? "" : "a.console = ?1 AND "
        let consoleParameters: [SQLValue] = console.map { [.text($0)] } ?? []
        // A dry run only reads (it may be given a read-only connection): a deferred
        // transaction, rolled back; its temp tables live in the connection's temp database.
        func work() throws {
            if rawOnly {
                let filter = "ingested_at < ?1\(rawOfConsole)"
                let count = try database.scalar("SELECT count(*) FROM raw_analyses WHERE \(filter)", [.text(cutoff)] + consoleParameters)
                if !dryRun { try database.prepare("DELETE FROM raw_analyses WHERE \(filter)").run([.text(cutoff)] + consoleParameters) }
                report.deleted.append(("raw_analyses", Int(count.integerValue ?? 0)))
            } else {
                try database.execute("CREATE TEMP TABLE IF NOT EXISTS prune_threats (threat_id TEXT PRIMARY KEY) WITHOUT ROWID")
                try database.execute("DELETE FROM temp.prune_threats")
                try database.prepare("""
                    INSERT INTO temp.prune_threats SELECT threat_id FROM main.threats WHERE last_ingested_at < ?1\(threatsOfConsole)
                    """).run([.text(cutoff)] + consoleParameters)
                let tables = Table.threatChildren.map(\.name) + ["raw_analyses", "ingest_queue", "threats"]
                try delete(tables, key: "threat_id", in: "temp.prune_threats", database: database, dryRun: dryRun, into: &report)
                // Agents with no threat left once these are gone (a dry run deleted nothing,
                // so it looks past the threats it would delete).
                try database.execute("CREATE TEMP TABLE IF NOT EXISTS prune_agents (agent_id TEXT PRIMARY KEY) WITHOUT ROWID")
                try database.execute("DELETE FROM temp.prune_agents")
                try database.prepare("""
                    INSERT INTO temp.prune_agents SELECT a.agent_id FROM main.agents a WHERE \(agentsOfConsole)NOT EXISTS (
                        SELECT 1 FROM main.threats t WHERE t.agent_id = a.agent_id
                        AND t.threat_id NOT IN (SELECT threat_id FROM temp.prune_threats))
                    """).run(consoleParameters)
                let agentTables = Table.agentChildren.map(\.name) + [Table.agents.name]
                try delete(agentTables, key: "agent_id", in: "temp.prune_agents", database: database, dryRun: dryRun, into: &report)
                try database.execute("DROP TABLE temp.prune_threats")
                try database.execute("DROP TABLE temp.prune_agents")
            }
        }
        if dryRun { try database.readTransaction(work) } else { try database.immediateTransaction(work) }
        return report
    }

    /// Deletes (or, for a dry run, counts) the rows of `tables` whose `key` is in the temp
    /// table `keys`, in that order, adding the counts to `report`.
    private static func delete(_ tables: [String], key: String, in keys: String, database: Database, dryRun: Bool,
                               into report: inout Report) throws {
        for table in tables {
            let filter = "\(key) IN (SELECT \(key) FROM \(keys))"
            let count = try database.scalar("SELECT count(*) FROM main.\(table) WHERE \(filter)")
            if !dryRun { try database.execute("DELETE FROM main.\(table) WHERE \(filter)") }
            report.deleted.append((table, Int(count.integerValue ?? 0)))
        }
    }
}
