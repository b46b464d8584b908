import S1Storage
import S1Common
import S1JSON
import S1Model
/// The budget learned per console (`console_pace`), so the next run starts near it.
public enum ConsolePace {
    /// The budget (requests per second) last measured for `console`; nil when none was, or
    /// when the database predates `console_pace`.
    public static func learned(_ database: Database, console: String) -> Double? {
        guard let row = try? database.query("SELECT budget FROM console_pace WHERE console = ?", [.text(console)]).first,
              case .real(let budget)? = row.first, budget.isFinite, budget > 0 else { return nil }
        return budget
    }

    /// Remembers `budget` for `console`.
    public static func remember(_ database: Database, console: String, budget: Double, runId: Int64?) throws {
        guard budget.isFinite, budget > 0 else { return }
        try database.prepare("""
            INSERT INTO console_pace (console, budget, measured_at, run_id) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (console) DO UPDATE SET budget = excluded.budget, measured_at = excluded.measured_at, run_id = excluded.run_id
            """).run([.text(console), .real(budget), .text(currentTimestamp()), runId.map { .integer($0) } ?? .null])
    }
}


extension RunRecords {
    /// Writes how run `runId` paced itself, and remembers a measured budget for `console`.
    public static func recordPacing(_ database: Database, runId: Int64, console: String, pacing: RunPacing) throws {
        let pace = pacing.pace.flatMap { $0.isFinite ? $0 : nil }
        try database.prepare("UPDATE ingest_runs SET pace = ?2, budget = ?3, rate_limited = ?4 WHERE run_id = ?1").run([
            .integer(runId), pace.map { .real($0) } ?? .null, pacing.budget.map { .real($0) } ?? .null,
            .integer(Int64(pacing.rateLimited)),
        ])
        if let budget = pacing.budget {
            try ConsolePace.remember(database, console: console, budget: budget, runId: runId)
        }
    }

    /// How the runs `runIds` paced themselves; empty for a database that predates pacing records.
    public static func pacing(_ database: Database, runIds: [Int64]) -> [Int64: RunPacing] {
        guard !runIds.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: runIds.count).joined(separator: ", ")
        guard let rows = try? database.query("SELECT run_id, pace, budget, rate_limited FROM ingest_runs WHERE run_id IN (\(marks))",
                                             runIds.map { .integer($0) }) else { return [:] }
        var result: [Int64: RunPacing] = [:]
        for row in rows {
            guard let runId = row[0].integerValue else { continue }
            result[runId] = RunPacing(pace: row[1].doubleValue, budget: row[2].doubleValue, rateLimited: Int(row[3].integerValue ?? 0))
        }
        return result
    }
}

extension SQLValue {
    /// The value as a real number, when it is a number.
    package var doubleValue: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }
}
