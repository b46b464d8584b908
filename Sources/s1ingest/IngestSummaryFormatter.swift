import Foundation
import S1IngestCore

/// The end-of-run summary of an ingest, for people and for schedulers.
enum IngestSummaryFormatter {
    static func text(_ summary: IngestSummary, databasePath: String) -> String {
        let c = summary.counts
        var lines: [String] = []
        lines.append("ingest run \(summary.runId) from \(summary.consoleURL) into \(databasePath): \(summary.status.rawValue) in \(String(format: "%.2f", summary.elapsedSeconds)) s (\(Int(summary.rate.rounded())) IDs/s)")
        lines.append("  requested  \(c.requested)")
        lines.append("  stored     \(c.stored) (new \(summary.outcomes[.inserted] ?? 0), replaced \(summary.outcomes[.updated] ?? 0))")
        lines.append("  unchanged  \(c.unchanged)")
        lines.append("  not found  \(c.notFound)")
        lines.append("  failed     \(c.failed)")
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
        let c = summary.counts
        var object: [String: Any] = [
            "command": "ingest", "run_id": summary.runId, "status": summary.status.rawValue, "database": databasePath,
            "console": summary.consoleURL, "requested": c.requested, "stored": c.stored, "unchanged": c.unchanged,
            "new": summary.outcomes[.inserted] ?? 0, "replaced": summary.outcomes[.updated] ?? 0,
            "not_found": c.notFound, "failed": c.failed, "invalid_ids": c.invalidIds, "duplicate_ids": summary.duplicateIds,
            "requests": c.requests, "retries": c.retries, "elapsed_seconds": (summary.elapsedSeconds * 1000).rounded() / 1000,
            "ids_per_second": summary.rate.rounded(), "message": summary.message ?? NSNull(),
            "failures": summary.failures.prefix(100).map { ["threat_id": $0.threatId, "error": $0.error] },
            "s1ingest_version": S1IngestVersion.current,
        ]
        for (key, value) in PacingFormatter.fields(summary.pacing) { object[key] = value }
        return JSONOutput.line(object)
    }
}
