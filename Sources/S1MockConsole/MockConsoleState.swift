/// Everything about a running console that changes: the fault plan, statistics and the
/// threats' changes. Lives behind the core's mutex; every access is short.
struct MockConsoleState: Sendable {
    var plan: FaultPlan
    var statistics = MockConsoleStatistics()
    /// Revision of each touched threat (index → revision; absent is 0).
    var revisions: [Int: Int] = [:]
    /// `updatedAt` (µs since 1970) of each touched threat.
    var updatedAtOverrides: [Int: Int64] = [:]
    /// The last `updatedAt` handed out by `touch` (nil: none yet).
    var clock: Int64?
    /// The list order by (updatedAt, id) with changes applied; nil after a touch.
    var order: [Int]?
    /// The rate limit's bucket: tokens left when last looked at, and when; nil: full.
    var bucket: (tokens: Double, at: ContinuousClock.Instant)?
    /// Where arrivals are recorded (``MockConsoleConfiguration/arrivalsFile``); nil: nowhere.
    let arrivals: ArrivalRecorder?

    init(plan: FaultPlan, arrivals: ArrivalRecorder? = nil) {
        self.plan = plan
        self.arrivals = arrivals
    }

    /// Takes a token from the rate limit's bucket, if there is a limit: false when the
    /// bucket is empty (the request is to be answered 429).
    mutating func takeToken(now: ContinuousClock.Instant = .now) -> Bool {
        arrivals?.record(now)
        guard let limit = plan.rateLimit else { return true }
        var tokens = limit.burst
        if let bucket {
            tokens = min(limit.burst, bucket.tokens + (now - bucket.at).secondsValue * limit.rate)
        }
        guard tokens >= 1 else {
            bucket = (tokens, now)
            statistics.rateLimited += 1
            return false
        }
        bucket = (tokens - 1, now)
        return true
    }
}

extension Duration {
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Request counters (see the statistics of ``MockConsole``).
struct MockConsoleStatistics: Sendable {
    var requestsByThreat: [String: Int] = [:]
    var analysisRequests = 0
    var listRequests = 0
    var inFlight = 0
    var peakInFlight = 0
    var connectionsAccepted = 0
    /// Requests answered 429 because the rate limit's bucket was empty.
    var rateLimited = 0
}
