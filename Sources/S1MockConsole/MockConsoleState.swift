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
}

/// Request counters (see the statistics of ``MockConsole``).
struct MockConsoleStatistics: Sendable {
    var requestsByThreat: [String: Int] = [:]
    var analysisRequests = 0
    var listRequests = 0
    var inFlight = 0
    var peakInFlight = 0
    var connectionsAccepted = 0
}
