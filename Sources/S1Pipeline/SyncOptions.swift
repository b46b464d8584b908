import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Settings for one `s1ingest sync`.
public struct SyncOptions: Sendable {
    public var databasePath: String
    public var endpoint: ConsoleEndpoint
    /// Only threats of these sites (`siteIds=`); empty for all.
    public var siteIds: [String]
    /// Overrides the stored watermark for this run; nil to use it (or the default window).
    public var since: SyncStart?
    /// How far before the stored watermark each run lists again (seconds; 0 for none). A
    /// threat can show up in the list late with an `updatedAt` a little older than threats
    /// already listed (console clock skew, replication lag, long transactions); the overlap
    /// lists it next time. Threats stored with the listed `updatedAt` are not fetched again,
    /// so the overlap costs list items only. Not applied to `since`.
    public var overlapSeconds: Int64
    /// How long after its listed `updatedAt` a threat whose fetched analysis is older than
    /// its list entry holds the watermark back, so later runs fetch it again (seconds).
    public var behindListHoldSeconds: Int64
    public var client: ConsoleClientSettings
    public var retry: RetryPolicy
    public var maxRequestsPerSecond: Double?
    /// Items per list page (the console allows 1–1000).
    public var pageSize: Int
    public var commitInterval: Duration
    public var batchSize: Int
    /// How long requests in flight may go on after a stop before they are cancelled.
    public var stopGrace: Duration = .seconds(5)
    /// The console's name in the database (`[consoles.NAME]`); nil: the name the database
    /// holds for the URL, else `default`.
    public var consoleName: String? = nil

    /// The default overlap: 5 minutes.
    public static let defaultOverlapSeconds: Int64 = 300
    /// The default hold for analyses behind the list: 1 day.
    public static let defaultBehindListHoldSeconds: Int64 = 86_400

    public init(databasePath: String, endpoint: ConsoleEndpoint, siteIds: [String] = [], since: SyncStart? = nil,
                overlapSeconds: Int64 = defaultOverlapSeconds, behindListHoldSeconds: Int64 = defaultBehindListHoldSeconds,
                client: ConsoleClientSettings = ConsoleClientSettings(), retry: RetryPolicy = RetryPolicy(),
                maxRequestsPerSecond: Double? = nil, pageSize: Int = 1000,
                commitInterval: Duration = .milliseconds(500), batchSize: Int = 1000) {
        self.databasePath = databasePath
        self.endpoint = endpoint
        self.siteIds = siteIds
        self.since = since
        self.overlapSeconds = max(0, overlapSeconds)
        self.behindListHoldSeconds = max(0, behindListHoldSeconds)
        self.client = client
        self.retry = retry
        self.maxRequestsPerSecond = maxRequestsPerSecond
        self.pageSize = pageSize
        self.commitInterval = commitInterval
        self.batchSize = batchSize
    }

    /// The `sync_state` key: the console, and the site filter when there is one.
    public var stateKey: String {
        siteIds.isEmpty ? endpoint.baseURL : endpoint.baseURL + " sites=" + siteIds.sorted().joined(separator: ",")
    }
}
