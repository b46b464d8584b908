import Foundation
import S1IngestCore

/// `s1ingest runs` output.
enum RunFormatter {
    static func table(_ runs: [RunRecord], pacing: [Int64: RunPacing] = [:]) -> String {
        guard !runs.isEmpty else { return "no runs recorded yet" }
        var rows = [["run", "started", "ended", "status", "command", "source", "requested", "stored", "unchanged", "not found", "failed", "retries",
                     "pace/s", "429s"]]
        for run in runs {
            let c = run.counts
            let paced = pacing[run.runId]
            rows.append([String(run.runId), String(run.startedAt.prefix(19)), run.endedAt.map { String($0.prefix(19)) } ?? "-",
                         run.status.rawValue, run.command, run.source, String(c.requested), String(c.stored), String(c.unchanged),
                         String(c.notFound), String(c.failed), String(c.retries),
                         paced?.pace.map { PacingFormatter.rate($0) } ?? "-", paced.map { String($0.rateLimited) } ?? "-"])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        for run in runs where run.message != nil { lines.append("run \(run.runId): \(terminalSafe(run.message!))") }
        return lines.joined(separator: "\n")
    }

    static func json(_ run: RunRecord, pacing: RunPacing? = nil) -> String {
        let c = run.counts
        var object: [String: Any] = [
            "run_id": run.runId, "command": run.command, "source": run.source, "console": run.console ?? NSNull(),
            "started_at": run.startedAt, "ended_at": run.endedAt ?? NSNull(), "status": run.status.rawValue,
            "requested": c.requested, "stored": c.stored, "unchanged": c.unchanged, "not_found": c.notFound,
            "failed": c.failed, "invalid_ids": c.invalidIds, "retries": c.retries, "requests": c.requests,
            "message": run.message ?? NSNull(), "s1ingest_version": run.version,
        ]
        for (key, value) in PacingFormatter.fields(pacing) { object[key] = value }
        return JSONOutput.line(object)
    }
}
