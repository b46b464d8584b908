import Foundation
import S1IngestCore

/// How a run paced its requests, in summaries and `s1ingest runs`.
enum PacingFormatter {
    /// `24.5 req/s (console budget measured 25.1 req/s); 12 answered 429`.
    static func line(_ report: PacingReport) -> String {
        var text = "\(rate(report.pace)) req/s at the end"
        if let budget = report.budget {
            text += " (console budget measured \(rate(budget)) req/s)"
        } else if report.capped {
            text += " (--rate)"
        } else {
            text += " (no budget met)"
        }
        text += "; \(report.rateLimited) answered 429"
        if report.slowdowns > 0 { text += ", \(report.slowdowns) slow-down(s)" }
        if report.noiseShare > 0 { text += String(format: ", %.1f%% of answers 429 whatever the pace (not a budget)", report.noiseShare * 100) }
        return text
    }

    static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }
}
