import S1Common

/// What storing one analysis did.
public enum StoreOutcome: String, Sendable, CaseIterable {
    /// A threat not in the database before.
    case inserted
    /// A stored threat replaced by a different version; its child rows were replaced.
    case updated
    /// The same analysis as the one stored (the same JSON, however it is formatted): nothing
    /// rewritten, the raw body kept as first received.
    case unchanged
    /// Older (`threatInfo.updatedAt`) than the version stored: kept the stored one.
    case stale
    /// Its threat or agent is stored for another console: nothing written.
    case conflict
}

/// How a run ended, as recorded in `ingest_runs.status`.
public enum RunStatus: String, Sendable {
    case running
    /// Every requested ID stored.
    case ok
    /// Some IDs not found or failed.
    case partial
    /// The run could not do its job (authentication, unreachable console, database).
    case failed
    /// Stopped by a signal, or found still `running` after its process died.
    case aborted
}

/// The counts a run record keeps.
public struct RunCounts: Sendable, Equatable {
    public var requested = 0
    public var stored = 0
    public var unchanged = 0
    public var notFound = 0
    public var failed = 0
    public var invalidIds = 0
    public var retries = 0
    public var requests = 0
    /// Analyses not written because their threat or agent is stored for another console.
    public var conflicts = 0

    public init() {}
}

/// One `ingest_runs` row.
public struct RunRecord: Sendable {
    public let runId: Int64
    public let command: String
    public let source: String
    /// The console's name (nil for runs that read no console).
    public let console: String?
    /// The console's URL.
    public var consoleURL: String? = nil
    public let startedAt: String
    public let endedAt: String?
    public let status: RunStatus
    public let counts: RunCounts
    public let message: String?
    public let version: String

    public init(runId: Int64, command: String, source: String, console: String?, startedAt: String, endedAt: String?,
                status: RunStatus, counts: RunCounts, message: String?, version: String) {
        self.runId = runId
        self.command = command
        self.source = source
        self.console = console
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.status = status
        self.counts = counts
        self.message = message
        self.version = version
    }
}

/// How a run paced itself (the `pace`, `budget` and `rate_limited` columns of `ingest_runs`).
public struct RunPacing: Sendable, Equatable {
    public let pace: Double?
    public let budget: Double?
    public let rateLimited: Int

    public init(pace: Double?, budget: Double?, rateLimited: Int) {
        self.pace = pace
        self.budget = budget
        self.rateLimited = rateLimited
    }
}

/// Why fetching an ID failed, as the queue records it.
public struct QueueFailure: Sendable, Equatable {
    /// The console answered 404: the ID becomes `not_found`, else `failed`.
    public var notFound: Bool
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// What went wrong, for `last_error`.
    public var message: String
    /// Whether `ingest --queue` tries it again.
    public var retryable: Bool

    public init(notFound: Bool, status: Int?, message: String, retryable: Bool) {
        self.notFound = notFound
        self.status = status
        self.message = message
        self.retryable = retryable
    }
}

/// The states an ID moves through.
public enum QueueState: String, Sendable, CaseIterable {
    case pending, done, notFound = "not_found", failed
}

/// Which IDs a run works on.
public enum QueueSelection: Sendable {
    /// The IDs this run enqueued that are still pending.
    case run(Int64)
    /// Every pending ID of one console, and its failed IDs whose failure was retryable and
    /// whose time has come.
    case drain(console: String)
}

/// What `migrate` did.
public struct MigrationReport: Sendable {
    public let fromVersion: Int
    public let toVersion: Int
    public let applied: [String]

    public init(fromVersion: Int, toVersion: Int, applied: [String]) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.applied = applied
    }
}

/// What a prune removed (or, for a dry run, would remove), per table.
public struct PruneReport: Sendable, Equatable {
    public var cutoff: String
    public var rawOnly: Bool
    public var dryRun: Bool
    /// Rows deleted per table, in deletion order.
    public var deleted: [(table: String, rows: Int)]

    public init(cutoff: String, rawOnly: Bool, dryRun: Bool, deleted: [(table: String, rows: Int)]) {
        self.cutoff = cutoff
        self.rawOnly = rawOnly
        self.dryRun = dryRun
        self.deleted = deleted
    }

    public var total: Int { deleted.reduce(0) { $0 + $1.rows } }

    public func rows(_ table: String) -> Int { deleted.first { $0.table == table }?.rows ?? 0 }

    public static func == (lhs: PruneReport, rhs: PruneReport) -> Bool {
        lhs.cutoff == rhs.cutoff && lhs.rawOnly == rhs.rawOnly && lhs.dryRun == rhs.dryRun
            && lhs.deleted.map(\.table) == rhs.deleted.map(\.table) && lhs.deleted.map(\.rows) == rhs.deleted.map(\.rows)
    }
}
