import S1Common
import S1JSON
import S1Model
import S1Storage

/// Settings for one `s1ingest copy`.
public struct CopyOptions: Sendable {
    /// Threats per committed transaction: a copy stopped or killed keeps what it committed.
    public var batchSize: Int
    /// Conflicts described in the summary (all are counted).
    public var conflictDetailLimit = 20

    public init(batchSize: Int = 2000) {
        self.batchSize = max(1, batchSize)
    }
}

/// What a copy did with one kind of row.
public struct CopyTally: Sendable, Equatable, Encodable {
    /// Rows the destination did not have.
    public var copied = 0
    /// Rows the destination had with other values, replaced by the source's.
    public var updated = 0
    /// Rows the destination already had the same (or newer, kept).
    public var unchanged = 0
    /// Rows the destination holds for another console: left as they are.
    public var conflicts = 0

    public init() {}

    /// True when the copy changed rows of this kind.
    public var changedSomething: Bool { copied > 0 || updated > 0 }
}

/// What a copy did.
public struct CopySummary: Sendable, Encodable {
    /// `ok`, `partial` (raw bodies that do not decode, or conflicts) or `stopped`.
    public var status = "ok"
    public var from = ""
    public var to = ""
    /// Threats of the source with a raw body.
    public var threats = 0
    /// Threats: stored for the first time (`copied`), replacing an older version (`updated`),
    /// already there (`unchanged`), stored for another console (`conflicts`).
    public var threatTally = CopyTally()
    /// The destination holds a newer version (`threatInfo.updatedAt`): kept.
    public var stale = 0
    /// Raw bodies that do not decode, with why (not copied).
    public var skipped: [String] = []
    /// Threats of the source without a raw body (pruned with `--raw-only`): not copied.
    public var withoutRawBody = 0
    /// What the conflicts collided with (the first `conflictDetailLimit`).
    public var conflictDetails: [String] = []
    /// Threats and agents whose ingest times were put back as the source has them.
    public var timesRestored = 0
    public var consoles = CopyTally()
    public var runs = CopyTally()
    public var queue = CopyTally()
    public var watermarks = CopyTally()
    public var paces = CopyTally()
    public var elapsedSeconds = 0.0

    public init() {}

    /// True when the copy changed nothing in the destination (it already held the source).
    public var changedNothing: Bool {
        !threatTally.changedSomething && timesRestored == 0 && !consoles.changedSomething && !runs.changedSomething
            && !queue.changedSomething && !watermarks.changedSomething && !paces.changedSomething
    }

    package enum CodingKeys: String, CodingKey {
        case status, from, to, threats, threatTally = "threat_rows", stale, skipped, withoutRawBody = "without_raw_body"
        case conflictDetails = "conflict_details", timesRestored = "times_restored", consoles, runs, queue, watermarks
        case paces = "learned_paces", elapsedSeconds = "elapsed_seconds", unchanged
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(threats, forKey: .threats)
        try container.encode(threatTally, forKey: .threatTally)
        try container.encode(stale, forKey: .stale)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(withoutRawBody, forKey: .withoutRawBody)
        try container.encode(conflictDetails, forKey: .conflictDetails)
        try container.encode(timesRestored, forKey: .timesRestored)
        try container.encode(consoles, forKey: .consoles)
        try container.encode(runs, forKey: .runs)
        try container.encode(queue, forKey: .queue)
        try container.encode(watermarks, forKey: .watermarks)
        try container.encode(paces, forKey: .paces)
        try container.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try container.encode(changedNothing, forKey: .unchanged)
    }
}

extension CopyTally {
    package enum CodingKeys: String, CodingKey { case copied, updated, unchanged, conflicts }
}

/// Why a copy could not be made.
public enum CopyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `--db` kind cannot be copied from or to.
    case unsupported(location: String)
    /// Source and destination are the same store.
    case sameStore(location: String)
    /// A console is named differently in the two stores.
    case consoleConflict(String)

    public var description: String {
        switch self {
        case .unsupported(let location): return "\(location): this kind of database cannot be copied from or to"
        case .sameStore(let location): return "--from and --to are the same database (\(location)): give another destination"
        case .consoleConflict(let detail): return "\(detail): nothing was copied (copy into another database, or rename the console there)"
        }
    }
}

/// Moves everything one store holds into another (`s1ingest copy`), SQLite or PostgreSQL
/// either way: the consoles, every threat through the destination's normal write path from
/// its raw body (keeping its ingest times), each agent's latest state, the run history with
/// its pacing, the queue, the sync watermarks and the learned paces. The source is opened
/// read-only. Idempotent: rows are matched by their keys (runs by command, start time and
/// console, since a run's ID is each store's own), so copying again changes nothing.
/// Resumable: threats are committed in batches, and a copy run again after a stop or a kill
/// finds what was committed unchanged and goes on.
public final class Copier {
    public let source: any StoreProvider
    public let destination: any StoreProvider
    public let options: CopyOptions
    /// Stops the copy between batches (what was committed stays).
    public let stop: StopRequest
    /// Called after each committed batch of threats: done, total.
    public var onProgress: ((Int, Int) -> Void)?

    public init(from source: any StoreProvider, to destination: any StoreProvider, options: CopyOptions = CopyOptions(), stop: StopRequest = StopRequest()) {
        self.source = source
        self.destination = destination
        self.options = options
        self.stop = stop
    }

    public func run() throws -> CopySummary {
        let clock = ContinuousClock()
        let started = clock.now
        guard let sourceProvider = source as? any CopyableStoreProvider else { throw CopyError.unsupported(location: source.location) }
        guard let destinationProvider = destination as? any CopyableStoreProvider else { throw CopyError.unsupported(location: destination.location) }
        if source.location == destination.location { throw CopyError.sameStore(location: source.location) }
        let from = try sourceProvider.openCopySource()
        let store = try destinationProvider.openCopyTarget()
        var summary = CopySummary()
        summary.from = source.location
        summary.to = destination.location
        summary.threats = try from.copiableThreatCount()
        summary.withoutRawBody = try from.threatsWithoutRawBody()

        try copyConsoles(from, store, &summary)
        let runIds = try copyRuns(from, store, &summary)
        if try copyThreats(from, store, &summary), try copyAgentTimes(from, store, &summary),
           try copyQueue(from, store, runIds: runIds, &summary) {
            try copyWatermarks(from, store, runIds: runIds, &summary)
            try copyPaces(from, store, runIds: runIds, &summary)
        }
        store.finishWriting()
        if stop.isRequested {
            summary.status = "stopped"
        } else if !summary.skipped.isEmpty || summary.threatTally.conflicts > 0 || summary.withoutRawBody > 0 {
            summary.status = "partial"
        }
        summary.elapsedSeconds = (clock.now - started).seconds
        return summary
    }

    // MARK: Consoles and runs

    private func copyConsoles(_ from: any CopySource, _ store: any Store & CopyTarget, _ summary: inout CopySummary) throws {
        let stored = try store.consoles()
        var writes: [ConsoleRecord] = []
        for record in try from.consoles() {
            if let url = record.url, let other = stored.first(where: { $0.url == url && $0.name != record.name }) {
                throw CopyError.consoleConflict("the destination holds \(url) as console '\(other.name)', the source as '\(record.name)'")
            }
            guard let existing = stored.first(where: { $0.name == record.name }) else {
                writes.append(record)
                summary.consoles.copied += 1
                continue
            }
            if let url = record.url, let storedURL = existing.url, url != storedURL {
                throw CopyError.consoleConflict("console '\(record.name)' is \(url) in the source but \(storedURL) in the destination")
            }
            let merged = ConsoleRecord(name: record.name, url: record.url ?? existing.url,
                                       firstSeenAt: CopyTime.earlier(existing.firstSeenAt, record.firstSeenAt),
                                       lastSeenAt: CopyTime.later(existing.lastSeenAt, record.lastSeenAt))
            if merged.url == existing.url && CopyTime.same(merged.firstSeenAt, existing.firstSeenAt) && CopyTime.same(merged.lastSeenAt, existing.lastSeenAt) {
                summary.consoles.unchanged += 1
            } else {
                writes.append(merged)
                summary.consoles.updated += 1
            }
        }
        try store.writeConsoles(writes)
    }

    /// Copies the run records; returns the destination's run ID of each source run.
    private func copyRuns(_ from: any CopySource, _ store: any Store & CopyTarget, _ summary: inout CopySummary) throws -> [Int64: Int64] {
        var stored: [String: RunRow] = [:]
        for row in try store.storedRunRows() where stored[row.identity] == nil { stored[row.identity] = row }
        var writes: [RunRow] = []
        var sourceIds: [Int64] = []
        var runIds: [Int64: Int64] = [:]
        for row in try from.runRows() {
            if let existing = stored[row.identity] {
                runIds[row.runId] = existing.runId
                if existing.sameContent(as: row) {
                    summary.runs.unchanged += 1
                    continue
                }
                var update = row
                update.runId = existing.runId
                writes.append(update)
                summary.runs.updated += 1
            } else {
                var insert = row
                insert.runId = 0
                writes.append(insert)
                summary.runs.copied += 1
            }
            sourceIds.append(row.runId)
        }
        for (sourceId, id) in zip(sourceIds, try store.writeRunRows(writes)) { runIds[sourceId] = id }
        return runIds
    }

    // MARK: Threats

    /// Copies every threat with a raw body, in batches; false when stopped.
    private func copyThreats(_ from: any CopySource, _ store: any Store & CopyTarget, _ summary: inout CopySummary) throws -> Bool {
        let writer = BatchWriter(store: store, batchSize: options.batchSize, commitInterval: .seconds(86_400))
        var done = 0
        // Threats that did not last write their agent first, then those that did: each agent
        // ends with the state its source holds.
        for agentOwners in [false, true] {
            var after = ""
            while true {
                if stop.isRequested { return false }
                let page = try from.threats(agentOwners: agentOwners, after: after, limit: options.batchSize)
                guard let last = page.last else { break }
                after = last.raw.threatId
                var items: [(threat: CopiedThreat, analysis: FlattenedAnalysis)] = []
                for threat in page {
                    let raw = threat.raw
                    let location = DocumentLocation(source: "raw_analyses[\(raw.threatId)]", line: 1)
                    switch AnalysisDecoder.decode(bytes: raw.body, location: location).first {
                    case .success(let analysis)? where analysis.threatId == raw.threatId:
                        let firstIngestedAt = threat.firstIngestedAt ?? raw.lastIngestedAt ?? raw.ingestedAt ?? currentTimestamp()
                        items.append((threat, AnalysisFlattener.flatten(analysis, ingestedAt: firstIngestedAt)))
                    case .success(let analysis)?:
                        summary.skipped.append("\(raw.threatId): the raw body is the analysis of threat \(analysis.threatId)")
                    case .failure(let problem)?:
                        summary.skipped.append("\(raw.threatId): \(problem.reason)")
                    case nil:
                        summary.skipped.append("\(raw.threatId): empty raw body")
                    }
                }
                var written: [CopiedThreat] = []
                do {
                    try store.prepare(items.map(\.analysis))
                    try writer.begin()
                    for (threat, analysis) in items {
                        let raw = threat.raw
                        let ingestedAt = raw.lastIngestedAt ?? threat.firstIngestedAt ?? currentTimestamp()
                        let outcome = try store.store(analysis, console: raw.console, ingestedAt: ingestedAt)
                        switch outcome {
                        case .inserted: summary.threatTally.copied += 1
                        case .updated: summary.threatTally.updated += 1
                        case .unchanged: summary.threatTally.unchanged += 1
                        case .stale: summary.stale += 1
                        case .conflict:
                            summary.threatTally.conflicts += 1
                            if summary.conflictDetails.count < options.conflictDetailLimit, let conflict = store.lastConflict {
                                summary.conflictDetails.append(conflict.description)
                            }
                            continue
                        }
                        if outcome == .inserted || outcome == .updated, let rawAt = raw.ingestedAt {
                            // The body was written now: its source and time as the source store has them.
                            try store.keepRawMetadata(threatId: raw.threatId, source: raw.source, ingestedAt: rawAt)
                        }
                        writer.added()
                        written.append(threat)
                    }
                    try writer.commit()
                } catch {
                    writer.abandon()
                    throw error
                }
                try restoreIngestTimes(written, store, &summary)
                done += page.count
                onProgress?(done, summary.threats)
            }
        }
        return true
    }

    /// Puts back the source's ingest times of threats just written (the writer stamped them
    /// with one time): the earlier first and the later last time of the two stores, and the
    /// raw body's source and time when the source received it first.
    private func restoreIngestTimes(_ threats: [CopiedThreat], _ store: any Store & CopyTarget, _ summary: inout CopySummary) throws {
        guard !threats.isEmpty else { return }
        let stored = try store.storedIngestTimes(threats.map(\.raw.threatId))
        var fixes: [ThreatIngestTimes] = []
        for threat in threats {
            guard let current = stored[threat.raw.threatId] else { continue }
            var wanted = current
            if let first = threat.firstIngestedAt { wanted.firstIngestedAt = CopyTime.earlier(current.firstIngestedAt, first) }
            if let last = threat.raw.lastIngestedAt { wanted.lastIngestedAt = CopyTime.later(current.lastIngestedAt, last) }
            if let rawAt = threat.raw.ingestedAt, CopyTime.normalized(rawAt) <= CopyTime.normalized(current.rawIngestedAt) {
                wanted.rawIngestedAt = rawAt
                wanted.rawSource = threat.raw.source
            }
            if !CopyTime.same(wanted.firstIngestedAt, current.firstIngestedAt) || !CopyTime.same(wanted.lastIngestedAt, current.lastIngestedAt)
                || !CopyTime.same(wanted.rawIngestedAt, current.rawIngestedAt) || wanted.rawSource != current.rawSource {
                fixes.append(wanted)
            }
        }
        try store.writeIngestTimes(fixes)
        summary.timesRestored += fixes.count
    }

    /// Gives each agent of the destination (of the same console) the source's ingest times and
    /// last writer; false when stopped.
    private func copyAgentTimes(_ from: any CopySource, _ store: any Store & CopyTarget, _ summary: inout CopySummary) throws -> Bool {
        var after = ""
        while true {
            if stop.isRequested { return false }
            let page = try from.agentTimes(after: after, limit: options.batchSize)
            guard let last = page.last else { return true }
            after = last.agentId
            let stored = try store.storedAgentTimes(page.map(\.agentId))
            let fixes = page.filter { agent in
                guard let current = stored[agent.agentId], current.console == agent.console else { return false }
                return !CopyTime.same(current.firstIngestedAt, agent.firstIngestedAt) || !CopyTime.same(current.lastIngestedAt, agent.lastIngestedAt)
                    || current.lastThreatId != agent.lastThreatId
            }
            try store.writeAgentTimes(fixes)
            summary.timesRestored += fixes.count
        }
    }

    // MARK: Queue, watermarks, paces

    /// Copies the queue: a row the destination lacks is added; one it has for the same console
    /// takes the source's values when the source's row was updated later; false when stopped.
    private func copyQueue(_ from: any CopySource, _ store: any Store & CopyTarget, runIds: [Int64: Int64], _ summary: inout CopySummary) throws -> Bool {
        var after = ""
        while true {
            if stop.isRequested { return false }
            let page = try from.queueRows(after: after, limit: options.batchSize)
            guard let last = page.last else { return true }
            after = last.threatId
            let writes = Self.merge(page, into: try store.storedQueueRows(page.map(\.threatId)), runIds: runIds, &summary.queue)
            try store.writeQueueRows(writes)
        }
    }

    /// Which of `rows` to write into a destination holding `stored` (by key), counted in
    /// `tally`: a row it lacks is added; one it holds for another console is a conflict; one it
    /// holds the same, or later (by the row's time), is unchanged; else the source's replaces it.
    /// Run IDs become the destination's.
    private static func merge<Row: MergedCopyRow>(_ rows: [Row], into stored: [String: Row], runIds: [Int64: Int64],
                                                  _ tally: inout CopyTally) -> [Row] {
        var writes: [Row] = []
        for row in rows {
            var wanted = row
            wanted.runId = row.runId.flatMap { runIds[$0] }
            guard let current = stored[row.copyKey] else {
                writes.append(wanted)
                tally.copied += 1
                continue
            }
            if let console = row.copyConsole, current.copyConsole != console {
                tally.conflicts += 1
            } else if current.normalized == wanted.normalized || CopyTime.normalized(wanted.copyTime) <= CopyTime.normalized(current.copyTime) {
                tally.unchanged += 1
            } else {
                writes.append(wanted)
                tally.updated += 1
            }
        }
        return writes
    }

    /// Copies the sync watermarks: one the destination lacks is added, a later one moves it forward.
    private func copyWatermarks(_ from: any CopySource, _ store: any Store & CopyTarget, runIds: [Int64: Int64], _ summary: inout CopySummary) throws {
        let stored = Dictionary(try store.storedWatermarkRows().map { ($0.syncKey, $0) }) { first, _ in first }
        let writes = Self.merge(try from.watermarkRows(), into: stored, runIds: runIds, &summary.watermarks)
        try store.writeWatermarkRows(writes)
    }

    /// Copies the learned paces: one the destination lacks is added, a later measurement replaces it.
    private func copyPaces(_ from: any CopySource, _ store: any Store & CopyTarget, runIds: [Int64: Int64], _ summary: inout CopySummary) throws {
        let stored = Dictionary(try store.storedPaceRows().map { ($0.console, $0) }) { first, _ in first }
        let writes = Self.merge(try from.paceRows(), into: stored, runIds: runIds, &summary.paces)
        try store.writePaceRows(writes)
    }
}

/// A row `copy` merges by key (queue rows, watermarks, learned paces).
protocol MergedCopyRow: Equatable {
    /// What identifies it in its table.
    var copyKey: String { get }
    /// The console it belongs to; nil for a row keyed by its console (it cannot conflict).
    var copyConsole: String? { get }
    /// The time that says which of two versions is later.
    var copyTime: String { get }
    var runId: Int64? { get set }
    /// The row with its times in one form, for comparisons.
    var normalized: Self { get }
}

extension QueueRow: MergedCopyRow {
    var copyKey: String { threatId }
    var copyConsole: String? { console }
    var copyTime: String { updatedAt }
}

extension WatermarkRow: MergedCopyRow {
    var copyKey: String { syncKey }
    var copyConsole: String? { console }
    var copyTime: String { watermark }
}

extension PaceRow: MergedCopyRow {
    var copyKey: String { console }
    var copyConsole: String? { nil }
    var copyTime: String { measuredAt }
}
