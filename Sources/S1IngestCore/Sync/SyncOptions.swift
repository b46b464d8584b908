/// Where a sync starts listing when it is not simply "from the stored watermark".
public enum SyncStart: Sendable, Equatable {
    /// This long before now (`--since 24h`).
    case window(seconds: Int64)
    /// From this time (`--since 2026-01-31T00:00:00Z`), normalised to six fractional digits.
    case timestamp(String)

    /// The first window of a database that has no watermark yet and no `--since`: 7 days.
    public static let defaultFirstWindow = SyncStart.window(seconds: 7 * 86_400)

    /// Parses a duration (`15min`, `24h`, `7d`, `2w`, `90s`) or a time, as `TimeGrammar`
    /// reads them; nil when it is neither.
    public static func parse(_ text: String) -> SyncStart? {
        try? TimeGrammar.parseSince(text)
    }

    /// The lower bound this start stands for, as of `now` (seconds since 1970).
    public func timestamp(now: Double) -> String {
        switch self {
        case .window(let seconds): return formatTimestamp(secondsSince1970: (now - Double(seconds)).rounded(.down))
        case .timestamp(let text): return text
        }
    }
}

/// An ISO-8601 UTC timestamp sent by the console, as the database stores it (six
/// fractional digits and `Z`); a bare date `YYYY-MM-DD` is midnight UTC; nil when it is not
/// one. What a person types goes through `TimeGrammar` instead.
public func normalizedTimestamp(_ text: String) -> String? {
    var text = text
    if text.utf8.count == 10 { text += "T00:00:00Z" }
    let bytes = Array(text.utf8)
    guard let normalized = bytes.withUnsafeBytes({ normalizeTimestamp($0) }) else { return nil }
    return String(decoding: normalized, as: UTF8.self)
}

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
