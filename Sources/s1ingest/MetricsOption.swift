import ArgumentParser
import Foundation
import S1IngestCore

/// `--metrics-file FILE`, for commands a scheduler runs (ingest, sync, import, prune).
struct MetricsOption: ParsableArguments {
    @Option(help: ArgumentHelp("Write this run's Prometheus metrics to FILE (for node_exporter's textfile collector; replaced atomically).", valueName: "file"))
    var metricsFile: String?

    /// No metrics file (for `demo`). Parsed, not `MetricsOption()`: reading an option of an
    /// instance argument-parser did not fill stops the process.
    static var none: MetricsOption { try! MetricsOption.parse([]) }

    /// Writes the metrics when asked to; a file that cannot be written is a warning, not a failure of the run.
    func write(_ run: RunMetrics, databasePath: String?) {
        guard let metricsFile else { return }
        do {
            try MetricsFile.write(run, to: metricsFile, databasePath: databasePath)
        } catch {
            FileHandleOutput.standardError("s1ingest: warning: \(terminalSafe("\(error)"))\n")
        }
    }

    /// Runs `body`, timing it; a run that throws is written as `failed` before the error goes on.
    func measuring<T>(command: String, console: String = "", databasePath: String?, _ body: () async throws -> T,
                      metrics: (T, Double, Double) -> RunMetrics) async throws -> T {
        let started = Date().timeIntervalSince1970
        do {
            let result = try await body()
            write(metrics(result, started, Date().timeIntervalSince1970 - started), databasePath: databasePath)
            return result
        } catch {
            write(RunMetrics(command: command, console: console, startedAt: started, durationSeconds: Date().timeIntervalSince1970 - started,
                             status: .failed, counts: [:]), databasePath: databasePath)
            throw error
        }
    }
}

extension RunMetrics {
    /// An ingest's (or a sync drain's) counts.
    static func counts(_ counts: RunCounts, pacing: PacingReport?) -> [String: Int] {
        ["stored": counts.stored, "unchanged": counts.unchanged, "not_found": counts.notFound, "failed": counts.failed,
         "requests": counts.requests, "retries": counts.retries, "rate_limited": pacing?.rateLimited ?? 0]
    }
}
