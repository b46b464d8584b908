import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Settings for one `s1ingest rebuild`.
public struct RebuildOptions: Sendable {
    public var databasePath: String
    /// Only these threats (in this order); nil for every stored raw body.
    public var threatIds: [String]?
    /// Start from the beginning even when the last rebuild was cut short.
    public var restart: Bool
    /// Threats per committed transaction (a killed rebuild resumes after the last commit).
    public var batchSize: Int

    public init(databasePath: String, threatIds: [String]? = nil, restart: Bool = false, batchSize: Int = 2000) {
        self.databasePath = databasePath
        self.threatIds = threatIds
        self.restart = restart
        self.batchSize = max(1, batchSize)
    }
}

/// What a rebuild did.
public struct RebuildSummary: Sendable, Encodable {
    public var runId: Int64 = 0
    public var status: RunStatus = .running
    /// Raw bodies flattened and stored again.
    public var rebuilt = 0
    /// Raw bodies that no longer decode (kept as they are, rows untouched), with why.
    public var skipped: [String] = []
    /// `--threat` IDs that have no stored raw body.
    public var missing: [String] = []
    /// Where a cut-short rebuild was resumed (the raw body's row after which it went on), if it was.
    public var resumedAfter: Int64?
    public var rowsBefore: [String: Int] = [:]
    public var rowsAfter: [String: Int] = [:]
    public var elapsedSeconds = 0.0

    package enum CodingKeys: String, CodingKey {
        case runId = "run_id", status, rebuilt, skipped, missing, resumedAfter = "resumed_after"
        case rowsBefore = "rows_before", rowsAfter = "rows_after", elapsedSeconds = "elapsed_seconds"
    }
}

extension RunStatus: Encodable {}

/// Derives every table again from the stored raw bodies with this binary's flattener, without
/// the network: after an upgrade that models more keys, or a fix to flattening. Each threat's
/// rows are replaced together (children included) and keep their ingest times; commits come
/// in batches, and the run record's message holds the point reached, so a killed rebuild
/// resumes there. Raw bodies are read in storage (rowid) order; an agent's row is written
/// only from the analysis that last wrote it (``AnalysisStore/rebuilding``).
public enum Rebuilder {
    /// The run record's message prefix that marks how far a rebuild got.
    package static let progressPrefix = "rebuilt up to "

    public static func run(_ options: RebuildOptions, store provider: any StoreProvider,
                           onProgress: ((Int, Int) -> Void)? = nil) throws -> RebuildSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let store = try provider.openForWriting()
        try store.closeAbandonedRuns()
        store.rebuilding = true
        var summary = RebuildSummary()
        summary.rowsBefore = Dictionary(uniqueKeysWithValues: try store.rowCounts().map { ($0.table, $0.rows) })

        var cursor: Int64 = 0
        if options.threatIds == nil, !options.restart, let last = try store.recentRuns(limit: 20, console: nil).first(where: { $0.command == "rebuild" }),
           last.status == .aborted || last.status == .failed, let message = last.message, message.hasPrefix(progressPrefix),
           let point = Int64(message.dropFirst(progressPrefix.count + "raw body row ".count).prefix { $0.isNumber }) {
            cursor = point
            summary.resumedAfter = point
        }
        let total = try store.rawBodyCount()
        let source = options.threatIds.map { "\($0.count) threat(s)" } ?? (cursor == 0 ? "raw bodies" : "raw bodies, resumed")
        summary.runId = try store.startRun(command: "rebuild", source: source, console: nil)
        var counts = RunCounts()
        counts.requested = options.threatIds?.count ?? total

        var pending = options.threatIds?[...]
        // One batch per page of raw bodies: the run record's point is committed with it.
        let writer = BatchWriter(store: store, batchSize: options.batchSize, commitInterval: .seconds(86_400))
        do {
            while true {
                let rows: [RawBody]
                if var ids = pending {
                    let batch = ids.prefix(options.batchSize)
                    ids = ids.dropFirst(batch.count)
                    pending = ids
                    var found: [RawBody] = []
                    for id in batch {
                        if let row = try store.rawBody(threatId: id) { found.append(row) } else { summary.missing.append(id) }
                    }
                    if batch.isEmpty { break }
                    rows = found
                } else {
                    rows = try store.rawBodies(after: cursor, limit: options.batchSize)
                    if rows.isEmpty { break }
                }
                try writer.begin()
                for row in rows {
                    let threatId = row.threatId
                    let storedAt = row.ingestedAt ?? currentTimestamp()
                    let lastIngestedAt = row.lastIngestedAt ?? storedAt
                    let location = DocumentLocation(source: "raw_analyses[\(threatId)]", line: 1)
                    switch AnalysisDecoder.decode(bytes: row.body, location: location).first {
                    case .success(let analysis)? where analysis.threatId == threatId:
                        _ = try store.store(AnalysisFlattener.flatten(analysis, ingestedAt: lastIngestedAt), console: row.console,
                                            ingestedAt: lastIngestedAt)
                        try store.keepRawMetadata(threatId: threatId, source: row.source, ingestedAt: storedAt)
                        summary.rebuilt += 1
                        writer.added()
                    case .success(let analysis)?:
                        summary.skipped.append("\(threatId): the raw body is the analysis of threat \(analysis.threatId)")
                    case .failure(let problem)?:
                        summary.skipped.append("\(threatId): \(problem.reason)")
                    case nil:
                        summary.skipped.append("\(threatId): empty raw body")
                    }
                    cursor = row.position
                }
                counts.stored = summary.rebuilt
                counts.failed = summary.skipped.count + summary.missing.count
                try store.updateRun(summary.runId, counts: counts)
                if options.threatIds == nil {
                    try store.setRunMessage(summary.runId, message: progressPrefix + "raw body row \(cursor)")
                }
                try writer.commit()
                onProgress?(summary.rebuilt, counts.requested)
            }
        } catch {
            writer.abandon()
            summary.status = .failed
            try? store.finishRun(summary.runId, status: .failed, counts: counts,
                                   message: progressPrefix + "raw body row \(cursor); failed: \(error)")
            throw error
        }
        summary.rowsAfter = Dictionary(uniqueKeysWithValues: try store.rowCounts().map { ($0.table, $0.rows) })
        summary.status = summary.skipped.isEmpty && summary.missing.isEmpty ? .ok : .partial
        summary.elapsedSeconds = (clock.now - started).seconds
        let message = summary.skipped.isEmpty && summary.missing.isEmpty ? nil
            : "\(summary.skipped.count) raw bodies could not be decoded, \(summary.missing.count) IDs have none"
        try store.finishRun(summary.runId, status: summary.status, counts: counts, message: message)
        return summary
    }
}
