import Foundation
import S1IngestCore

/// The end-of-run summary of an ingest, for people and for schedulers.
enum IngestSummaryFormatter {
    static func text(_ summary: IngestSummary, databasePath: String) -> String {
        let c = summary.counts
        var lines: [String] = []
        let console = summary.console.map { "console \($0.name) (\(summary.consoleURL))" } ?? summary.consoleURL
        lines.append("ingest run \(summary.runId) from \(console) into \(databasePath): \(summary.status.rawValue) in \(String(format: "%.2f", summary.elapsedSeconds)) s (\(Int(summary.rate.rounded())) IDs/s)")
        lines.append("  requested  \(c.requested)")
        lines.append("  stored     \(c.stored) (new \(summary.outcomes[.inserted] ?? 0), replaced \(summary.outcomes[.updated] ?? 0))")
        lines.append("  unchanged  \(c.unchanged)")
        lines.append("  not found  \(c.notFound)")
        lines.append("  failed     \(c.failed)")
        if c.conflicts > 0 { lines.append("  conflicts  \(c.conflicts) (stored for another console: not written)") }
        if c.invalidIds > 0 || summary.duplicateIds > 0 {
            lines.append("  bad lines  \(c.invalidIds) (not IDs, skipped); duplicates \(summary.duplicateIds) (fetched once)")
        }
        lines.append("  requests   \(c.requests) (\(c.retries) retries)")
        if let pacing = summary.pacing { lines.append("  pacing     \(PacingFormatter.line(pacing))") }
        if let message = summary.message { lines.append("  \(summary.status.rawValue): \(terminalSafe(message))") }
        for failure in summary.failures.prefix(5) { lines.append("    \(failure.threatId): \(terminalSafe(failure.error))") }
        if summary.failures.count > 5 { lines.append("    ... (`s1ingest queue` lists the most common errors)") }
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: IngestSummary, databasePath: String) -> String {
        JSONOutput.line(IngestSummaryJSON(summary, databasePath: databasePath), command: "ingest")
    }
}
