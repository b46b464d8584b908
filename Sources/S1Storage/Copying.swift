import S1Common

// `s1ingest copy`: what one store hands another. The source is read whole through
// `CopySource` (read-only), the destination written through `Store` (the analyses, by the
// normal write path) and `CopyTarget` (everything else, keyed so that copying again changes
// nothing). The pipeline (`Copier`) decides what to write; the backends only run the SQL.

/// A stored threat as `copy` reads it: its raw body (the source of truth, flattened again by
/// the destination's writer) and the ingest times to put back afterwards.
public struct CopiedThreat: Sendable {
    /// The raw body with its source, time, console and the threat's `last_ingested_at`.
    public var raw: RawBody
    /// The threat's `first_ingested_at`.
    public var firstIngestedAt: String?

    public init(raw: RawBody, firstIngestedAt: String?) {
        self.raw = raw
        self.firstIngestedAt = firstIngestedAt
    }
}

/// A threat's ingest times and its raw body's metadata, as stored.
public struct ThreatIngestTimes: Sendable, Equatable {
    public var threatId: String
    public var firstIngestedAt: String
    public var lastIngestedAt: String
    /// `raw_analyses.source` and `raw_analyses.ingested_at`.
    public var rawSource: String?
    public var rawIngestedAt: String

    public init(threatId: String, firstIngestedAt: String, lastIngestedAt: String, rawSource: String?, rawIngestedAt: String) {
        self.threatId = threatId
        self.firstIngestedAt = firstIngestedAt
        self.lastIngestedAt = lastIngestedAt
        self.rawSource = rawSource
        self.rawIngestedAt = rawIngestedAt
    }
}

/// An agent's bookkeeping columns (its other columns come from the analyses).
public struct AgentIngestTimes: Sendable, Equatable {
    public var agentId: String
    public var console: String
    public var firstIngestedAt: String
    public var lastIngestedAt: String
    /// The threat whose analysis last wrote the agent's row.
    public var lastThreatId: String?

    public init(agentId: String, console: String, firstIngestedAt: String, lastIngestedAt: String, lastThreatId: String?) {
        self.agentId = agentId
        self.console = console
        self.firstIngestedAt = firstIngestedAt
        self.lastIngestedAt = lastIngestedAt
        self.lastThreatId = lastThreatId
    }
}

/// One `ingest_runs` row, every column.
public struct RunRow: Sendable, Equatable {
    public var runId: Int64
    public var command: String
    public var source: String
    public var console: String?
    public var consoleURL: String?
    public var startedAt: String
    public var endedAt: String?
    public var status: String
    public var requested: Int64
    public var stored: Int64
    public var unchanged: Int64
    public var notFound: Int64
    public var failed: Int64
    public var invalidIds: Int64
    public var retries: Int64
    public var requests: Int64
    public var conflicts: Int64
    public var message: String?
    public var version: String
    public var pace: Double?
    public var budget: Double?
    public var rateLimited: Int64

    public init(runId: Int64, command: String, source: String, console: String?, consoleURL: String?, startedAt: String, endedAt: String?,
                status: String, requested: Int64 = 0, stored: Int64 = 0, unchanged: Int64 = 0, notFound: Int64 = 0, failed: Int64 = 0,
                invalidIds: Int64 = 0, retries: Int64 = 0, requests: Int64 = 0, conflicts: Int64 = 0, message: String?, version: String,
                pace: Double? = nil, budget: Double? = nil, rateLimited: Int64 = 0) {
        self.runId = runId
        self.command = command
        self.source = source
        self.console = console
        self.consoleURL = consoleURL
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.status = status
        self.requested = requested
        self.stored = stored
        self.unchanged = unchanged
        self.notFound = notFound
        self.failed = failed
        self.invalidIds = invalidIds
        self.retries = retries
        self.requests = requests
        self.conflicts = conflicts
        self.message = message
        self.version = version
        self.pace = pace
        self.budget = budget
        self.rateLimited = rateLimited
    }

    /// What identifies a run across stores (its `run_id` is the store's own): the command,
    /// when it started, and its console.
    public var identity: String { "\(command)\u{1F}\(CopyTime.normalized(startedAt))\u{1F}\(console ?? "")" }

    /// The same run with the same columns, `run_id` aside (times compared as instants).
    public func sameContent(as other: RunRow) -> Bool {
        var a = self, b = other
        a.runId = 0
        b.runId = 0
        a.startedAt = CopyTime.normalized(a.startedAt)
        b.startedAt = CopyTime.normalized(b.startedAt)
        a.endedAt = a.endedAt.map(CopyTime.normalized)
        b.endedAt = b.endedAt.map(CopyTime.normalized)
        return a == b
    }
}

/// One `ingest_queue` row (a PostgreSQL worker's lease is not copied).
public struct QueueRow: Sendable, Equatable {
    public var threatId: String
    public var console: String
    public var state: String
    public var attempts: Int64
    public var lastStatus: Int64?
    public var lastError: String?
    public var retryable: Bool
    public var nextAttemptAt: String?
    public var enqueuedAt: String
    public var updatedAt: String
    public var runId: Int64?

    public init(threatId: String, console: String, state: String, attempts: Int64, lastStatus: Int64?, lastError: String?, retryable: Bool,
                nextAttemptAt: String?, enqueuedAt: String, updatedAt: String, runId: Int64?) {
        self.threatId = threatId
        self.console = console
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.retryable = retryable
        self.nextAttemptAt = nextAttemptAt
        self.enqueuedAt = enqueuedAt
        self.updatedAt = updatedAt
        self.runId = runId
    }

    /// The row with its times in one form, for comparisons.
    public var normalized: QueueRow {
        var row = self
        row.nextAttemptAt = nextAttemptAt.map(CopyTime.normalized)
        row.enqueuedAt = CopyTime.normalized(enqueuedAt)
        row.updatedAt = CopyTime.normalized(updatedAt)
        return row
    }
}

/// One `sync_state` row.
public struct WatermarkRow: Sendable, Equatable {
    public var syncKey: String
    public var console: String
    public var watermark: String
    public var updatedAt: String
    public var runId: Int64?

    public init(syncKey: String, console: String, watermark: String, updatedAt: String, runId: Int64?) {
        self.syncKey = syncKey
        self.console = console
        self.watermark = watermark
        self.updatedAt = updatedAt
        self.runId = runId
    }

    public var normalized: WatermarkRow {
        var row = self
        row.watermark = CopyTime.normalized(watermark)
        row.updatedAt = CopyTime.normalized(updatedAt)
        return row
    }
}

/// One `console_pace` row: the budget a console showed.
public struct PaceRow: Sendable, Equatable {
    public var console: String
    public var budget: Double
    public var measuredAt: String
    public var runId: Int64?

    public init(console: String, budget: Double, measuredAt: String, runId: Int64?) {
        self.console = console
        self.budget = budget
        self.measuredAt = measuredAt
        self.runId = runId
    }

    public var normalized: PaceRow {
        var row = self
        row.measuredAt = CopyTime.normalized(measuredAt)
        return row
    }
}

/// Times as s1ingest stores them (`2024-05-01T10:00:00.000000Z`), whatever the backend gave.
public enum CopyTime {
    /// `text` with six fractional digits and `Z` when it is an ISO-8601 UTC time; else as it is.
    public static func normalized(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else { return text }
        var end = bytes.count
        if bytes.last == UInt8(ascii: "Z") {
            end -= 1
        } else if text.hasSuffix("+00:00") {
            end -= 6
        } else if text.hasSuffix("+00") {
            end -= 3
        } else {
            return text
        }
        guard end >= 19 else { return text }
        var head = Array(bytes[0 ..< 19])
        head[10] = UInt8(ascii: "T")
        var fraction: [UInt8] = []
        if end > 19 {
            guard bytes[19] == UInt8(ascii: ".") else { return text }
            fraction = Array(bytes[20 ..< end])
        }
        guard fraction.allSatisfy({ $0 >= 48 && $0 <= 57 }), fraction.count <= 9 else { return text }
        fraction = Array((fraction + [UInt8](repeating: 48, count: 6)).prefix(6))
        return String(decoding: head + [UInt8(ascii: ".")] + fraction + [UInt8(ascii: "Z")], as: UTF8.self)
    }

    /// The earlier of two stored times.
    public static func earlier(_ a: String, _ b: String) -> String { normalized(a) <= normalized(b) ? a : b }

    /// The later of two stored times.
    public static func later(_ a: String, _ b: String) -> String { normalized(a) >= normalized(b) ? a : b }

    /// True when both name the same instant.
    public static func same(_ a: String?, _ b: String?) -> Bool { a.map(normalized) == b.map(normalized) }
}

/// A store opened to be copied from: read-only, nothing done through it changes anything.
public protocol CopySource: AnyObject {
    /// Where it is, as it may be shown.
    var location: String { get }
    /// Every console, by name.
    func consoles() throws -> [ConsoleRecord]
    /// How many threats have a raw body (what `copy` moves).
    func copiableThreatCount() throws -> Int
    /// How many threats have no raw body (pruned with `--raw-only`): they cannot be copied.
    func threatsWithoutRawBody() throws -> Int
    /// Threats with their raw bodies, in threat ID order after `threatId`, at most `limit`:
    /// with `agentOwners` false those that did not last write their agent's row, with true
    /// those that did (copied last, so each agent ends with the state its source holds).
    func threats(agentOwners: Bool, after threatId: String, limit: Int) throws -> [CopiedThreat]
    /// Agents' bookkeeping columns, in agent ID order after `agentId`.
    func agentTimes(after agentId: String, limit: Int) throws -> [AgentIngestTimes]
    /// Every run record, oldest first.
    func runRows() throws -> [RunRow]
    /// Queue rows in threat ID order after `threatId`.
    func queueRows(after threatId: String, limit: Int) throws -> [QueueRow]
    /// Every watermark.
    func watermarkRows() throws -> [WatermarkRow]
    /// Every learned pace.
    func paceRows() throws -> [PaceRow]
}

/// A store written by `copy`, besides its analyses (which go through `AnalysisWriter`): each
/// write runs in a transaction of its own, outside a batch, and only rows given are touched.
public protocol CopyTarget: AnyObject {
    /// Adds or updates consoles (by name).
    func writeConsoles(_ records: [ConsoleRecord]) throws
    /// The stored ingest times of the threats `ids` (those stored), by threat ID.
    func storedIngestTimes(_ ids: [String]) throws -> [String: ThreatIngestTimes]
    /// Sets the threats' and raw bodies' times and raw sources.
    func writeIngestTimes(_ times: [ThreatIngestTimes]) throws
    /// The stored bookkeeping of the agents `ids`, by agent ID.
    func storedAgentTimes(_ ids: [String]) throws -> [String: AgentIngestTimes]
    /// Sets the agents' bookkeeping columns.
    func writeAgentTimes(_ times: [AgentIngestTimes]) throws
    /// Every stored run record.
    func storedRunRows() throws -> [RunRow]
    /// Writes runs: a row whose `runId` is 0 is added (the store gives it its ID), else the
    /// run with that ID is updated. Returns the IDs, in order.
    func writeRunRows(_ rows: [RunRow]) throws -> [Int64]
    /// The stored queue rows of `ids`, by threat ID.
    func storedQueueRows(_ ids: [String]) throws -> [String: QueueRow]
    /// Adds or replaces queue rows (by threat ID).
    func writeQueueRows(_ rows: [QueueRow]) throws
    /// Every stored watermark.
    func storedWatermarkRows() throws -> [WatermarkRow]
    /// Adds or replaces watermarks (by sync key).
    func writeWatermarkRows(_ rows: [WatermarkRow]) throws
    /// Every stored learned pace.
    func storedPaceRows() throws -> [PaceRow]
    /// Adds or replaces learned paces (by console).
    func writePaceRows(_ rows: [PaceRow]) throws
}

/// A backend that can be copied from and to.
public protocol CopyableStoreProvider: StoreProvider {
    /// Opens an existing store read-only to copy it; throws when it is missing, not an
    /// s1ingest store, or from a newer s1ingest (or older than this one: migrate it first).
    func openCopySource() throws -> any CopySource
    /// Opens (creating and migrating as `openForWriting` does) the store to copy into.
    func openCopyTarget() throws -> any Store & CopyTarget
}
