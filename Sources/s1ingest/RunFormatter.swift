import Foundation
import S1IngestCore

/// `s1ingest runs` output.
enum RunFormatter {
    static func table(_ runs: [RunRecord], pacing: [Int64: RunPacing] = [:]) -> String {
        guard !runs.isEmpty else { return "no runs recorded yet" }
        var rows = [["run", "started", "ended", "status", "command", "console", "source", "requested", "stored", "unchanged", "not found", "failed", "retries",
                     "pace/s", "429s"]]
        for run in runs {
            let c = run.counts
            let paced = pacing[run.runId]
            rows.append([String(run.runId), String(run.startedAt.prefix(19)), run.endedAt.map { String($0.prefix(19)) } ?? "-",
                         run.status.rawValue, run.command, run.console ?? "-", run.source, String(c.requested), String(c.stored), String(c.unchanged),
                         String(c.notFound), String(c.failed + c.conflicts), String(c.retries),
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
        JSONOutput.encoded(RunRecordJSON(run, pacing: pacing))
    }
}
