import Foundation
import S1IngestCore

// The `--json` summaries as `Encodable` types: one field per key (README "JSON output"),
// encoded by `JSONOutput`. A nil that the form shows as `null` is `@Null`.

/// Encodes nil as `null` rather than leaving the key out.
@propertyWrapper
struct Null<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// One given-up ID.
struct FailureJSON: Encodable {
    let threatId: String
    let error: String

    enum CodingKeys: String, CodingKey { case threatId = "threat_id", error }

    static func list(_ failures: [(threatId: String, error: String)]) -> [FailureJSON] {
        failures.prefix(100).map { FailureJSON(threatId: $0.threatId, error: $0.error) }
    }
}

/// `pace`, `budget` and `rate_limited`, rounded to a tenth.
struct PacingJSON {
    let pace: Double?
    let budget: Double?
    let rateLimited: Int

    init(_ report: PacingReport?) {
        pace = report.map { Self.rounded($0.pace) }
        budget = report?.budget.map(Self.rounded)
        rateLimited = report?.rateLimited ?? 0
    }

    init(_ pacing: RunPacing?) {
        pace = pacing?.pace.map(Self.rounded)
        budget = pacing?.budget.map(Self.rounded)
        rateLimited = pacing?.rateLimited ?? 0
    }

    private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}

/// Seconds to the millisecond.
private func milliseconds(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

struct ImportSummaryJSON: Encodable {
    let command = "import"
    let database: String
    let documentsRead, analysesFound, stored, new, replaced, unchanged, stale, conflicts, skipped: Int
    let elapsedSeconds, analysesPerSecond: Double
    let skippedByReason: [String: Int]
    let problems: [[String: String]]
    let rows: [String: Int]

    enum CodingKeys: String, CodingKey {
        case command, database, documentsRead = "documents_read", analysesFound = "analyses_found", stored, new, replaced
        case unchanged, stale, conflicts, skipped, elapsedSeconds = "elapsed_seconds", analysesPerSecond = "analyses_per_second"
        case skippedByReason = "skipped_by_reason", problems, rows
    }

    init(_ summary: ImportSummary, databasePath: String) {
        database = databasePath
        documentsRead = summary.documentsRead
        analysesFound = summary.analysesFound
        stored = summary.stored
        new = summary.outcomes[.inserted] ?? 0
        replaced = summary.outcomes[.updated] ?? 0
        unchanged = summary.outcomes[.unchanged] ?? 0
        stale = summary.outcomes[.stale] ?? 0
        conflicts = summary.outcomes[.conflict] ?? 0
        skipped = summary.problemCount
        elapsedSeconds = milliseconds(summary.elapsedSeconds)
        analysesPerSecond = summary.analysesPerSecond.rounded()
        skippedByReason = Dictionary(uniqueKeysWithValues: summary.problemsByCategory.map { ($0.category, $0.count) })
        problems = summary.problems.prefix(100).map { ["location": $0.location, "reason": $0.reason] }
        rows = Dictionary(uniqueKeysWithValues: summary.rowCounts.map { ($0.table, $0.rows) })
    }
}

struct IngestSummaryJSON: Encodable {
    let command = "ingest"
    let runId: Int64
    let status, database, consoleURL: String
    @Null var console: String?
    let requested, stored, unchanged, new, replaced, notFound, failed, conflicts, invalidIds, duplicateIds, requests, retries: Int
    let elapsedSeconds, idsPerSecond: Double
    @Null var message: String?
    let failures: [FailureJSON]
    @Null var pace: Double?
    @Null var budget: Double?
    let rateLimited: Int

    enum CodingKeys: String, CodingKey {
        case command, runId = "run_id", status, database, console, consoleURL = "console_url", requested, stored, unchanged, new, replaced
        case notFound = "not_found", failed, conflicts, invalidIds = "invalid_ids", duplicateIds = "duplicate_ids", requests, retries
        case elapsedSeconds = "elapsed_seconds", idsPerSecond = "ids_per_second", message, failures, pace, budget
        case rateLimited = "rate_limited"
    }

    init(_ summary: IngestSummary, databasePath: String) {
        let c = summary.counts
        let pacing = PacingJSON(summary.pacing)
        runId = summary.runId
        status = summary.status.rawValue
        database = databasePath
        consoleURL = summary.consoleURL
        console = summary.console?.name
        requested = c.requested
        stored = c.stored
        unchanged = c.unchanged
        new = summary.outcomes[.inserted] ?? 0
        replaced = summary.outcomes[.updated] ?? 0
        notFound = c.notFound
        failed = c.failed
        conflicts = c.conflicts
        invalidIds = c.invalidIds
        duplicateIds = summary.duplicateIds
        requests = c.requests
        retries = c.retries
        elapsedSeconds = milliseconds(summary.elapsedSeconds)
        idsPerSecond = summary.rate.rounded()
        message = summary.message
        failures = FailureJSON.list(summary.failures)
        pace = pacing.pace
        budget = pacing.budget
        rateLimited = pacing.rateLimited
    }
}

struct SyncSummaryJSON: Encodable {
    let command = "sync"
    let status, database, syncKey, listedFrom: String
    @Null var console: String?
    @Null var runId: Int64?
    let listingComplete: Bool
    let listingSkipped: Bool
    let pages, listed, alreadyStored, enqueued, listSkipped: Int
    let requested, stored, unchanged, notFound, failed, conflicts, new, replaced, requests, retries: Int
    @Null var watermarkBefore: String?
    @Null var watermark: String?
    let watermarkAdvanced: Bool
    let behindList, behindListHeld: Int
    let elapsedSeconds: Double
    @Null var message: String?
    let failures: [FailureJSON]
    @Null var pace: Double?
    @Null var budget: Double?
    let rateLimited: Int

    enum CodingKeys: String, CodingKey {
        case command, status, database, console, syncKey = "sync_key", listedFrom = "listed_from", runId = "run_id"
        case listingComplete = "listing_complete", listingSkipped = "listing_skipped", pages, listed, alreadyStored = "already_stored", enqueued
        case listSkipped = "list_skipped", requested, stored, unchanged, notFound = "not_found", failed, conflicts, new, replaced
        case requests, retries, watermarkBefore = "watermark_before", watermark, watermarkAdvanced = "watermark_advanced"
        case behindList = "behind_list", behindListHeld = "behind_list_held", elapsedSeconds = "elapsed_seconds", message
        case failures, pace, budget, rateLimited = "rate_limited"
    }

    init(_ summary: SyncSummary, databasePath: String) {
        let ingest = summary.ingest
        let c = ingest?.counts ?? RunCounts()
        let pacing = PacingJSON(ingest?.pacing)
        status = summary.status.rawValue
        database = databasePath
        syncKey = summary.stateKey
        console = summary.console?.name
        runId = ingest?.runId
        listedFrom = summary.listedFrom
        listingComplete = summary.listingComplete
        listingSkipped = summary.listingSkipped
        pages = summary.pages
        listed = summary.listed
        alreadyStored = summary.alreadyStored
        enqueued = summary.enqueued
        listSkipped = summary.listSkipped
        requested = c.requested
        stored = c.stored
        unchanged = c.unchanged
        notFound = c.notFound
        failed = c.failed
        conflicts = c.conflicts
        new = ingest?.outcomes[.inserted] ?? 0
        replaced = ingest?.outcomes[.updated] ?? 0
        requests = c.requests + summary.listRequests
        retries = c.retries + summary.listRetries
        watermarkBefore = summary.previousWatermark
        watermark = summary.watermark
        watermarkAdvanced = summary.watermarkAdvanced
        behindList = summary.behindList
        behindListHeld = summary.behindListHeld
        elapsedSeconds = milliseconds(summary.elapsedSeconds)
        message = summary.message
        failures = FailureJSON.list(ingest?.failures ?? [])
        pace = pacing.pace
        budget = pacing.budget
        rateLimited = pacing.rateLimited
    }
}

struct RunRecordJSON: Encodable {
    let runId: Int64
    let command, source, startedAt, status: String
    @Null var console: String?
    @Null var consoleURL: String?
    @Null var endedAt: String?
    let requested, stored, unchanged, notFound, failed, conflicts, invalidIds, retries, requests: Int
    @Null var message: String?
    /// The version that did the run (not this one).
    let s1ingestVersion: String
    @Null var pace: Double?
    @Null var budget: Double?
    let rateLimited: Int

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", command, source, console, consoleURL = "console_url", startedAt = "started_at", endedAt = "ended_at", status
        case requested, stored, unchanged, notFound = "not_found", failed, conflicts, invalidIds = "invalid_ids", retries, requests
        case message, s1ingestVersion = "s1ingest_version", pace, budget, rateLimited = "rate_limited"
    }

    init(_ run: RunRecord, pacing runPacing: RunPacing?) {
        let c = run.counts
        let pacing = PacingJSON(runPacing)
        runId = run.runId
        command = run.command
        source = run.source
        console = run.console
        consoleURL = run.consoleURL
        startedAt = run.startedAt
        endedAt = run.endedAt
        status = run.status.rawValue
        requested = c.requested
        stored = c.stored
        unchanged = c.unchanged
        notFound = c.notFound
        failed = c.failed
        conflicts = c.conflicts
        invalidIds = c.invalidIds
        retries = c.retries
        requests = c.requests
        message = run.message
        s1ingestVersion = run.version
        pace = pacing.pace
        budget = pacing.budget
        rateLimited = pacing.rateLimited
    }
}

struct PruneReportJSON: Encodable {
    let command = "prune"
    let database, cutoff: String
    let rawOnly, dryRun: Bool
    let deleted: [String: Int]
    /// `--console`: the console pruned (left out when every console was).
    let console: String?

    enum CodingKeys: String, CodingKey {
        case command, database, cutoff, rawOnly = "raw_only", dryRun = "dry_run", deleted, console
    }

    init(_ report: PruneReport, databasePath: String, console: String? = nil) {
        database = databasePath
        self.console = console
        cutoff = report.cutoff
        rawOnly = report.rawOnly
        dryRun = report.dryRun
        deleted = Dictionary(uniqueKeysWithValues: report.deleted.map { ($0.table, $0.rows) })
    }
}

/// `sync --consoles --json`: the worst status, one sync object per console, the total.
struct MultiSyncJSON: Encodable {
    let command = "sync"
    let status, database: String
    let consoles: [ConsoleJSON]
    let total: TotalJSON
    let elapsedSeconds: Double

    enum CodingKeys: String, CodingKey { case command, status, database, consoles, total, elapsedSeconds = "elapsed_seconds" }

    /// One console: its sync summary, or why it could not run.
    struct ConsoleJSON: Encodable {
        let name, url, outcome: String
        let sync: SyncSummaryJSON?
        @Null var error: String?

        enum CodingKeys: String, CodingKey { case name, url, outcome, sync, error }
    }

    struct TotalJSON: Encodable {
        let consoles, requested, stored, unchanged, notFound, failed, conflicts, requests, retries: Int

        enum CodingKeys: String, CodingKey {
            case consoles, requested, stored, unchanged, notFound = "not_found", failed, conflicts, requests, retries
        }
    }

    init(_ summary: MultiSyncSummary, databasePath: String) {
        status = MultiSyncFormatter.status(summary.worst).rawValue
        database = databasePath
        consoles = summary.consoles.map {
            ConsoleJSON(name: $0.name, url: $0.url, outcome: $0.outcomeLabel,
                        sync: $0.summary.map { SyncSummaryJSON($0, databasePath: databasePath) }, error: $0.error)
        }
        let t = summary.total
        total = TotalJSON(consoles: summary.consoles.count, requested: t.requested, stored: t.stored, unchanged: t.unchanged,
                          notFound: t.notFound, failed: t.failed, conflicts: t.conflicts, requests: t.requests, retries: t.retries)
        elapsedSeconds = milliseconds(summary.elapsedSeconds)
    }
}
