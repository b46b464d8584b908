import ArgumentParser
import Foundation
import S1IngestCore

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Fetch every threat new or updated since the last sync (for nightly runs).",
        discussion: """
            Lists the console's threats (GET /web/api/v2.1/threats, 1000 a page, sorted by updatedAt ascending, updatedAt >= the watermark), enqueues those not already stored with the same updatedAt, then works through the queue like `ingest --queue`.

            The watermark (table sync_state, one per console and --site set) moves forward only over threats whose analyses are committed, so a killed run misses nothing: run it again. Each run lists from the watermark less --overlap (default 5min), so threats that reach the list late with a slightly older updatedAt are not missed; the re-listed ones already stored are not fetched again. A threat whose analysis comes back older than its list entry holds the watermark back (for up to a day) so the next run fetches it again. Without a watermark and without --since, the first sync reads the last 7 days. --since overrides the watermark for one run (it moves the watermark only when it starts at or before it).

            One run at a time: a second command writing to the same database exits with 4.

            Exit status: 0 all stored, 1 partial, 2 failure, 3 authentication, 4 another run holds the database, 130 interrupted, 64 usage error.
            """
    )

    @OptionGroup var database: DatabaseOption
    @OptionGroup var consoleOptions: ConsoleOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var metrics: MetricsOption

    @Option(help: ArgumentHelp("List from this long ago (15min, 24h, 7d, 2w) or from this time (2026-01-31, 2026-01-31T00:00:00Z; an offset such as +02:00 is converted to UTC) instead of the stored watermark.", valueName: "duration|timestamp"))
    var since: String?

    @Option(help: ArgumentHelp("List again this far before the stored watermark (30s, 5min, 1h; 0 for none), for threats that reach the list late.", valueName: "duration"))
    var overlap = "5min"

    @Option(name: .customLong("site"), help: ArgumentHelp("Only threats of this site ID (repeat for several). Each set of sites keeps its own watermark.", valueName: "id"))
    var sites: [String] = []

    @Option(help: .hidden)
    var pageSize = 1000

    func validate() throws {
        if let since { _ = try parseTimeOption("--since") { try TimeGrammar.parseSince(since) } }
        if overlap != "0" {
            _ = try parseTimeOption("--overlap") { try TimeGrammar.durationSeconds(overlap) }
        }
        for site in sites where site.isEmpty || !site.allSatisfy(\.isASCIIDigit) {
            throw ValidationError("--site takes a numeric site ID, not '\(site)'")
        }
        guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size must be from 1 to 1000") }
    }

    /// `--overlap` in seconds; nil when it is not a duration.
    var overlapSeconds: Int64? { overlap == "0" ? 0 : (try? TimeGrammar.durationSeconds(overlap)) }

    func run() async throws {
        let log = RunLog(output: output)
        let endpoint = try await log.reportingErrors { try consoleOptions.endpoint() }
        var options = SyncOptions(
            databasePath: database.path, endpoint: endpoint, siteIds: sites, since: since.flatMap(SyncStart.parse),
            overlapSeconds: overlapSeconds ?? SyncOptions.defaultOverlapSeconds,
            client: consoleOptions.clientSettings, retry: consoleOptions.retryPolicy,
            maxRequestsPerSecond: consoleOptions.rate, pageSize: pageSize)
        options.stopGrace = consoleOptions.stopGraceDuration
        let syncer = Syncer(options: options)
        syncer.onWarning = { log.warn($0) }
        syncer.onProgress = { log.progress($0) }
        syncer.onInfo = { log.info($0) }
        let stop = StopRequest()
        let signals = SignalTrap(stop: stop, grace: options.stopGrace)
        let summary = try await log.reportingErrors {
            try await metrics.measuring(command: "sync", console: endpoint.baseURL, databasePath: database.path) {
                try await syncer.run(stop: stop)
            } metrics: { summary, started, duration in
                var counts = RunMetrics.counts(summary.ingest?.counts ?? RunCounts(), pacing: summary.ingest?.pacing)
                counts["requests", default: 0] += summary.listRequests
                counts["retries", default: 0] += summary.listRetries
                counts["listed"] = summary.listed
                return RunMetrics(command: "sync", console: endpoint.baseURL, startedAt: started, durationSeconds: duration,
                                  status: summary.status, counts: counts)
            }
        }
        signals.release()
        log.clearProgress()
        if output.json {
            print(SyncSummaryFormatter.json(summary, databasePath: database.path))
        } else {
            print(SyncSummaryFormatter.text(summary, databasePath: database.path))
        }
        if let message = summary.message, summary.status == .failed { log.error(message) }
        try IngestRunner.exit(for: summary.status, authenticationFailed: summary.authenticationFailed)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// The end-of-sync summary, for people and for schedulers.
enum SyncSummaryFormatter {
    static func text(_ summary: SyncSummary, databasePath: String) -> String {
        var lines: [String] = []
        lines.append("sync of \(summary.stateKey) into \(databasePath): \(summary.status.rawValue) in \(String(format: "%.2f", summary.elapsedSeconds)) s")
        lines.append("  listed     \(summary.listed) updated since \(summary.listedFrom) (\(summary.pages) pages\(summary.listingComplete ? "" : ", incomplete"))")
        lines.append("  to fetch   \(summary.enqueued) (\(summary.alreadyStored) already stored with the same updatedAt)")
        if summary.listSkipped > 0 { lines.append("  skipped    \(summary.listSkipped) list items that are not usable (see the warnings)") }
        if let ingest = summary.ingest {
            let c = ingest.counts
            lines.append("  drained    run \(ingest.runId): \(c.requested) requested, \(c.stored) stored, \(c.unchanged) unchanged, \(c.notFound) not found, \(c.failed) failed")
            lines.append("  requests   \(c.requests + summary.listRequests) (\(c.retries + summary.listRetries) retries)")
            if let pacing = ingest.pacing { lines.append("  pacing     \(PacingFormatter.line(pacing))") }
            for failure in ingest.failures.prefix(5) { lines.append("    \(failure.threatId): \(terminalSafe(failure.error))") }
        }
        if summary.behindList > 0 {
            lines.append("  behind     \(summary.behindList) analyses older than listed (\(summary.behindListHeld) hold the watermark)")
        }
        let watermark = summary.watermark ?? "none"
        lines.append("  watermark  \(watermark)\(summary.watermarkAdvanced ? " (moved from \(summary.previousWatermark ?? "none"))" : " (unchanged)")")
        if let message = summary.message { lines.append("  \(summary.status.rawValue): \(terminalSafe(message))") }
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: SyncSummary, databasePath: String) -> String {
        JSONOutput.line(SyncSummaryJSON(summary, databasePath: databasePath), command: "sync")
    }
}
