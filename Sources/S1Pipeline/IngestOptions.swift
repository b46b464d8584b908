import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Where a run's threat IDs come from.
public enum IngestSource: Sendable {
    /// A file of IDs, one per line (`-` for standard input).
    case idFile(String)
    /// IDs given in code (the demo, sync discovery), with a label for the run record.
    case ids([String], label: String)
    /// Whatever the queue holds: pending IDs, and retryable failures whose back-off is over
    /// (`next_attempt_at` unset or not in the future).
    case queue
}

/// Settings for one ingest run.
public struct IngestOptions: Sendable {
    public var databasePath: String
    public var endpoint: ConsoleEndpoint
    public var source: IngestSource
    public var client: ConsoleClientSettings
    public var retry: RetryPolicy
    /// A cap on requests per second across all workers; nil for none.
    public var maxRequestsPerSecond: Double?
    /// The run record's command name (`ingest`, `demo`, `sync`).
    public var command: String
    /// The run record's source for `.queue` runs (default `queue`; sync says `threat list`).
    public var queueLabel = "queue"
    /// Longest time between commits.
    public var commitInterval: Duration
    /// Most analyses per commit.
    public var batchSize: Int
    /// How long requests in flight may go on once the run is stopped (signal, 401/403,
    /// unreachable console) before they are cancelled and their IDs left pending.
    public var stopGrace: Duration = .seconds(5)
    /// The pacer to share (sync lists and fetches through one per console); nil: the run
    /// makes its own, starting from the budget learned for the console.
    public var throttle: RequestThrottle? = nil
    /// The workers `throttle` is shared among (a sync's), for the budget the run records.
    package var workerShare: WorkerShare? = nil
    /// The console's name in the database (`[consoles.NAME]`); nil: the name the database
    /// holds for the URL, else `default` (see `ConsoleRegistry`).
    public var consoleName: String? = nil
    /// False for a console whose URL is new every run (the demo's mock on a free port): its
    /// rows go to `consoleName` (or `default`) whatever the URL, instead of a new console per port.
    public var consoleURLIsStable = true

    public init(databasePath: String, endpoint: ConsoleEndpoint, source: IngestSource,
                client: ConsoleClientSettings = ConsoleClientSettings(), retry: RetryPolicy = RetryPolicy(),
                maxRequestsPerSecond: Double? = nil, command: String = "ingest",
                commitInterval: Duration = .milliseconds(500), batchSize: Int = 1000) {
        self.databasePath = databasePath
        self.endpoint = endpoint
        self.source = source
        self.client = client
        self.retry = retry
        self.maxRequestsPerSecond = maxRequestsPerSecond
        self.command = command
        self.commitInterval = commitInterval
        self.batchSize = batchSize
    }
}

/// A snapshot for progress displays.
public struct IngestProgress: Sendable {
    public let done: Int
    public let total: Int
    public let stored: Int
    public let errors: Int
    public let retries: Int
    public let elapsedSeconds: Double
    /// The last request's error while it is unresolved (nil once a request succeeds).
    public var lastError: String? = nil

    public init(done: Int, total: Int, stored: Int, errors: Int, retries: Int, elapsedSeconds: Double, lastError: String? = nil) {
        self.done = done
        self.total = total
        self.stored = stored
        self.errors = errors
        self.retries = retries
        self.elapsedSeconds = elapsedSeconds
        self.lastError = lastError
    }

    /// Finished IDs per second so far.
    public var rate: Double { elapsedSeconds > 0 ? Double(done) / elapsedSeconds : 0 }

    /// Seconds left at the current rate, when it can be told.
    public var etaSeconds: Double? { rate > 0 && total >= done ? Double(total - done) / rate : nil }
}

/// What a run did.
public struct IngestSummary: Sendable {
    public var runId: Int64 = 0
    /// The console the run read, as the database names it.
    public var console: ConsoleRef? = nil
    public var status: RunStatus = .running
    /// Why the run failed or was aborted.
    public var message: String?
    /// True when the console refused the token (401/403).
    public var authenticationFailed = false
    public var counts = RunCounts()
    public var outcomes: [StoreOutcome: Int] = [:]
    /// Lines of the ID file that were not IDs.
    public var invalidLines: [(line: Int, text: String, reason: String)] = []
    /// Duplicate IDs in the ID file (fetched once).
    public var duplicateIds = 0
    /// Up to 100 IDs that were not stored, with why.
    public var failures: [(threatId: String, error: String)] = []
    public var elapsedSeconds = 0.0
    public var consoleURL = ""
    /// True when the run failed because the database could not be written (disk full,
    /// I/O error): what was committed before stays, the rest stays queued.
    public var databaseFailed = false
    /// IDs answered with a 3xx redirect (counted in `failed` too).
    public var redirected = 0
    /// How the run paced its requests (pace, measured budget, 429s).
    public var pacing: PacingReport?

    /// IDs finished per second.
    public var rate: Double {
        elapsedSeconds > 0 ? Double(counts.stored + counts.unchanged + counts.notFound + counts.failed + counts.conflicts) / elapsedSeconds : 0
    }
}
