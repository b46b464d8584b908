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

            Several consoles: --consoles FILE (TOML, README "Several consoles") syncs every console of the file (or --only NAME ...) in one run, concurrently, each with its own pacer, queue slice and watermark, into the one database. A console that is slow, unreachable or refuses its token does not hold back or abort the others. One summary per console and a total; the exit status is the worst of the consoles' in the order 130 (stopped) > 3 (authentication) > 2 (failure) > 1 (partial) > 0 (ok).

            Exit status: 0 all stored, 1 partial, 2 failure, 3 authentication, 4 another run holds the database, 130 interrupted, 64 usage error (also a consoles file that is not valid).
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

    @Option(parsing: .upToNextOption, help: ArgumentHelp("With --consoles: only these consoles of the file.", valueName: "name"))
    var only: [String] = []

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

    /// The sync of one console.
    func options(for console: ResolvedConsole) -> SyncOptions {
        var options = SyncOptions(
            databasePath: database.path, endpoint: console.endpoint, siteIds: sites.isEmpty ? console.sites : sites,
            since: since.flatMap(SyncStart.parse),
            overlapSeconds: overlapSeconds ?? SyncOptions.defaultOverlapSeconds,
            client: consoleOptions.clientSettings(for: console), retry: consoleOptions.retryPolicy,
            maxRequestsPerSecond: consoleOptions.rate ?? console.rate, pageSize: pageSize)
        options.stopGrace = consoleOptions.stopGraceDuration
        options.consoleName = console.name
        return options
    }

    func run() async throws {
        if consoleOptions.consolesPath != nil, consoleOptions.console == nil {
            return try await runConsoles()
        }
        if !only.isEmpty { throw ValidationError("--only needs --consoles FILE (and no --console)") }
        let log = RunLog(output: output)
        let console = try await log.reportingErrors { try consoleOptions.resolvedConsole() }
        let endpoint = console.endpoint
        let options = options(for: console)
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
        lines.append("sync of \(summary.console.map { "console \($0.name): " } ?? "")\(summary.stateKey) into \(databasePath): \(summary.status.rawValue) in \(String(format: "%.2f", summary.elapsedSeconds)) s")
        if summary.listingSkipped {
            lines.append("  listed     nothing: another process was listing this console; only the queue was drained")
        } else {
        lines.append("  listed     \(summary.listed) updated since \(summary.listedFrom) (\(summary.pages) pages\(summary.listingComplete ? "" : ", incomplete"))")
        }
        lines.append("  to fetch   \(summary.enqueued) (\(summary.alreadyStored) already stored with the same updatedAt)")
        if summary.listSkipped > 0 { lines.append("  skipped    \(summary.listSkipped) list items that are not usable (see the warnings)") }
        if let ingest = summary.ingest {
            let c = ingest.counts
            lines.append("  drained    run \(ingest.runId): \(c.requested) requested, \(c.stored) stored, \(c.unchanged) unchanged, \(c.notFound) not found, \(c.failed) failed"
                         + (c.conflicts > 0 ? ", \(c.conflicts) conflicts" : ""))
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

extension SyncCommand {
    /// `sync --consoles FILE`: every console of the file (or `--only`), concurrently.
    func runConsoles() async throws {
        let log = RunLog(output: output)
        let consoles = try await log.reportingErrors { () async throws -> [ConsoleConfig] in
            let consoles = try consoleOptions.fileConsoles(only: only)
            if consoles.isEmpty { throw ConsolesFileError(path: consoleOptions.consolesPath ?? "", message: "names no console") }
            return consoles
        }
        // A console whose token cannot be read is reported with the others, not alone.
        var jobs: [SyncOptions] = []
        var unusable: [ConsoleSyncResult] = []
        for config in consoles {
            do {
                jobs.append(options(for: try ConsoleOptions.resolve(config, allowInsecureHTTP: consoleOptions.allowInsecureHttp)))
            } catch {
                log.warn("console \(config.name): \(error)")
                unusable.append(ConsoleSyncResult(name: config.name, url: config.url, summary: nil, error: "\(error)"))
            }
        }
        let syncer = MultiSyncer(jobs: jobs, store: database.store)
        syncer.onWarning = { name, message in log.warn("\(name): \(message)") }
        syncer.onInfo = { name, message in log.info("\(name): \(message)") }
        syncer.onProgress = { name, progress in log.progress(progress, label: name) }
        let stop = StopRequest()
        let signals = SignalTrap(stop: stop, grace: consoleOptions.stopGraceDuration)
        var summary = try await log.reportingErrors {
            try await metrics.measuring(command: "sync", console: "consoles", databasePath: database.path) {
                try await syncer.run(stop: stop)
            } metrics: { summary, started, duration in
                var counts = RunMetrics.counts(summary.total, pacing: nil)
                counts["listed"] = summary.consoles.reduce(0) { $0 + ($1.summary?.listed ?? 0) }
                return RunMetrics(command: "sync", console: "consoles", startedAt: started, durationSeconds: duration,
                                  status: MultiSyncFormatter.status(summary.worst), counts: counts)
            }
        }
        signals.release()
        log.clearProgress()
        // Consoles that never started keep their place in the file's order.
        for result in unusable {
            let index = consoles.firstIndex { $0.name == result.name } ?? summary.consoles.count
            summary.consoles.insert(result, at: min(index, summary.consoles.count))
        }
        if output.json {
            print(MultiSyncFormatter.json(summary, databasePath: database.path))
        } else {
            print(MultiSyncFormatter.text(summary, databasePath: database.path))
        }
        for result in summary.consoles where result.status == .failed {
            log.error("\(result.name): " + (result.error ?? result.summary?.message ?? "failed"))
        }
        switch summary.worst {
        case .ok: return
        case .partial: throw ExitCode(S1IngestExitCode.partial)
        case .failed: throw ExitCode(S1IngestExitCode.failure)
        case .authentication: throw ExitCode(S1IngestExitCode.authentication)
        case .stopped: throw ExitCode(S1IngestExitCode.interrupted)
        }
    }
}

/// The summary of `sync --consoles`: one block per console, then the total.
enum MultiSyncFormatter {
    static func status(_ outcome: ConsoleSyncOutcome) -> RunStatus {
        switch outcome {
        case .ok: return .ok
        case .partial: return .partial
        case .failed, .authentication: return .failed
        case .stopped: return .aborted
        }
    }

    static func text(_ summary: MultiSyncSummary, databasePath: String) -> String {
        var lines: [String] = []
        for result in summary.consoles {
            lines.append("console \(result.name) (\(result.url)): \(result.outcomeLabel)")
            if let sync = result.summary {
                for line in SyncSummaryFormatter.text(sync, databasePath: databasePath).split(separator: "\n") { lines.append("  " + line) }
            } else if let error = result.error {
                lines.append("  failed: \(terminalSafe(error))")
            }
        }
        let t = summary.total
        let counted = summary.consoles.map { "\($0.name) \($0.outcomeLabel)" }.joined(separator: ", ")
        lines.append("total: \(summary.consoles.count) consoles (\(counted)) in \(String(format: "%.2f", summary.elapsedSeconds)) s: "
                     + "\(t.requested) requested, \(t.stored) stored, \(t.unchanged) unchanged, \(t.notFound) not found, \(t.failed) failed, "
                     + "\(t.conflicts) conflicts, \(t.requests) requests")
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: MultiSyncSummary, databasePath: String) -> String {
        JSONOutput.line(MultiSyncJSON(summary, databasePath: databasePath), command: "sync")
    }
}

extension ConsoleSyncResult {
    /// `ok`, `partial`, `failed`, `authentication failed` or `stopped`.
    var outcomeLabel: String {
        switch outcome {
        case .ok: return "ok"
        case .partial: return "partial"
        case .failed: return "failed"
        case .authentication: return "failed (authentication)"
        case .stopped: return "stopped"
        }
    }
}
