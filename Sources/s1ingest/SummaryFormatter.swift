import Foundation
import S1IngestCore

/// The end-of-run summary, for people and for schedulers.
enum SummaryFormatter {
    static func text(_ summary: ImportSummary, databasePath: String) -> String {
        var lines: [String] = []
        let rate = summary.analysesPerSecond
        lines.append("import into \(databasePath): \(summary.documentsRead) documents read, \(summary.analysesFound) analyses in \(String(format: "%.2f", summary.elapsedSeconds)) s (\(Int(rate.rounded())) analyses/s)")
        lines.append("  stored     \(summary.stored) (new \(summary.outcomes[.inserted] ?? 0), replaced \(summary.outcomes[.updated] ?? 0))")
        lines.append("  unchanged  \(summary.outcomes[.unchanged] ?? 0) (same body as stored)")
        lines.append("  stale      \(summary.outcomes[.stale] ?? 0) (older than the stored version, kept the stored one)")
        lines.append("  skipped    \(summary.problemCount)")
        for (category, count) in summary.problemsByCategory {
            lines.append("    \(String(count).leftPadded(6))  \(category)")
        }
        lines.append("rows: " + summary.rowCounts.map { "\($0.table) \($0.rows)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: ImportSummary, databasePath: String) -> String {
        JSONOutput.line(ImportSummaryJSON(summary, databasePath: databasePath), command: "import")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
