import ArgumentParser
import Foundation
import S1IngestCore

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete old threats (with all their rows) or only their raw bodies.",
        discussion: """
            A threat is old when s1ingest last read an analysis of it (threats.last_ingested_at) longer ago than --older-than: threats the console keeps updating are re-read by each sync and stay. Deletes the threat's rows in every table, its raw body and its queue entry, then every agent left with no threat, with its interfaces and addresses.

            With --raw-only, deletes only the raw bodies (raw_analyses) stored before the cutoff and keeps the flattened rows.

            With --console NAME|URL, only that console's threats (and, with --raw-only, their raw bodies) are candidates, and only its agents are removed; the other consoles' rows stay. Without it every console's old threats go.

            Everything happens in one transaction; the rows removed per table are printed. The file does not shrink: SQLite reuses the space (VACUUM gives it back).
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Age to keep: 90d, 12w, 36h, 30min (m alone is refused: minutes or months?).", valueName: "duration"))
    var olderThan: String

    @Flag(help: "Delete only raw analysis bodies (raw_analyses), keep the flattened rows.")
    var rawOnly = false

    @OptionGroup var consoleFilter: ConsoleFilterOption

    @Flag(help: "Count what would be deleted; change nothing.")
    var dryRun = false

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @OptionGroup var metrics: MetricsOption

    func validate() throws {
        _ = try parseTimeOption("--older-than") { try TimeGrammar.durationSeconds(olderThan) }
    }

    func run() throws {
        let seconds = try parseTimeOption("--older-than") { try TimeGrammar.durationSeconds(olderThan) }
        let cutoff = formatTimestamp(secondsSince1970: Date().timeIntervalSince1970 - Double(seconds))
        let started = Date().timeIntervalSince1970
        func measured(_ status: RunStatus, _ counts: [String: Int]) -> RunMetrics {
            RunMetrics(command: rawOnly ? "prune_raw" : "prune", startedAt: started, durationSeconds: Date().timeIntervalSince1970 - started,
                       status: status, counts: counts)
        }
        let report: PruneReport
        var console: String?
        do {
            report = try runReportingErrors { () throws -> PruneReport in
                // A dry run only reads: a read-only connection, no run lock, so it works beside a running sync.
                console = try consoleFilter.storedName(in: database)
                return try database.store.prune(olderThan: cutoff, rawOnly: rawOnly, dryRun: dryRun, console: console)
            }
        } catch {
            if !dryRun { metrics.write(measured(.failed, [:]), databasePath: database.path) }
            throw error
        }
        if !dryRun { metrics.write(measured(.ok, ["deleted": report.deleted.reduce(0) { $0 + $1.rows }]), databasePath: database.path) }
        if json {
            print(JSONOutput.line(PruneReportJSON(report, databasePath: database.path, console: console), command: "prune"))
            return
        }
        let what = report.rawOnly ? "raw bodies stored before \(report.cutoff)"
            : "threats last ingested before \(report.cutoff), and the agents (interfaces, addresses) left with no threat,"
        print("\(report.dryRun ? "would delete" : "deleted") \(what) from \(database.path)\(console.map { " (console \($0))" } ?? ""):")
        for entry in report.deleted {
            print("  \(entry.table.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(entry.rows).leftPadded(8))")
        }
    }
}
