/// `s1ingest prune`: removes what is older than a cutoff, in one transaction.
///
/// "Older" is `threats.last_ingested_at` (when s1ingest last read an analysis of the threat,
/// changed or not) for whole threats, and `raw_analyses.ingested_at` for raw bodies: a
/// threat the console keeps updating is re-read by every sync and so never ages out.
public enum Pruner {
    /// What a prune removed (or, for a dry run, would remove), per table.
    public struct Report: Sendable, Equatable {
        public var cutoff: String
        public var rawOnly: Bool
        public var dryRun: Bool
        /// Rows deleted per table, in deletion order.
        public var deleted: [(table: String, rows: Int)]

        public var total: Int { deleted.reduce(0) { $0 + $1.rows } }

        public func rows(_ table: String) -> Int { deleted.first { $0.table == table }?.rows ?? 0 }

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.cutoff == rhs.cutoff && lhs.rawOnly == rhs.rawOnly && lhs.dryRun == rhs.dryRun
                && lhs.deleted.map(\.table) == rhs.deleted.map(\.table) && lhs.deleted.map(\.rows) == rhs.deleted.map(\.rows)
        }
    }

    /// Deletes raw bodies stored before `cutoff` (`rawOnly`), or whole threats last ingested
    /// before it with every child row, their raw body and their queue entry. Agents stay,
    /// even with no threat left (they are shared, and the next analysis refreshes them).
    public static func prune(_ database: Database, olderThan cutoff: String, rawOnly: Bool, dryRun: Bool = false) throws -> Report {
        var report = Report(cutoff: cutoff, rawOnly: rawOnly, dryRun: dryRun, deleted: [])
        try database.immediateTransaction {
            if rawOnly {
                let count = try database.scalar("SELECT count(*) FROM raw_analyses WHERE ingested_at < ?", [.text(cutoff)])
                if !dryRun { try database.prepare("DELETE FROM raw_analyses WHERE ingested_at < ?").run([.text(cutoff)]) }
                report.deleted.append(("raw_analyses", Int(count.integerValue ?? 0)))
            } else {
                try database.execute("CREATE TEMP TABLE IF NOT EXISTS prune_threats (threat_id TEXT PRIMARY KEY) WITHOUT ROWID")
                try database.execute("DELETE FROM temp.prune_threats")
                try database.prepare("INSERT INTO temp.prune_threats SELECT threat_id FROM threats WHERE last_ingested_at < ?")
                    .run([.text(cutoff)])
                let tables = Table.threatChildren.map(\.name) + ["raw_analyses", "ingest_queue", "threats"]
                for table in tables {
                    let filter = "threat_id IN (SELECT threat_id FROM temp.prune_threats)"
                    let count = try database.scalar("SELECT count(*) FROM main.\(table) WHERE \(filter)")
                    if !dryRun { try database.execute("DELETE FROM main.\(table) WHERE \(filter)") }
                    report.deleted.append((table, Int(count.integerValue ?? 0)))
                }
                try database.execute("DROP TABLE temp.prune_threats")
            }
        }
        return report
    }
}
