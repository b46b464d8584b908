/// Paces requests for the whole client: an optional fixed cap in requests per second, and
/// a shared slow-down when the console answers 429, so every worker backs off together
/// rather than each on its own.
///
/// After a 429 all requests pause (for `Retry-After` when given) and the pace is halved;
/// each success afterwards raises it again a little, until the user's cap (or no cap).
public actor RequestThrottle {
    private let clock = ContinuousClock()
    /// The user's cap, requests per second; nil for none.
    public let maxRate: Double?
    /// The pace currently allowed; nil when unlimited.
    public private(set) var currentRate: Double?
    private var nextSlot: ContinuousClock.Instant
    private var pausedUntil: ContinuousClock.Instant
    private var recentStarts: [ContinuousClock.Instant] = []
    private var lastSlowdown: ContinuousClock.Instant?
    /// Number of 429 slow-downs so far.
    public private(set) var slowdowns = 0

    /// The slowest pace a series of 429s can bring it to.
    static let minimumRate = 0.5

    public init(maxRate: Double?) {
        self.maxRate = maxRate
        self.currentRate = maxRate
        self.nextSlot = clock.now
        self.pausedUntil = clock.now
    }

    /// Waits until the next request may start; returns when it started. Throws
    /// `CancellationError` when `stop` is requested (or the task cancelled) during the wait.
    @discardableResult
    public func acquire(stop: StopRequest? = nil) async throws -> ContinuousClock.Instant {
        let now = clock.now
        let start = max(now, nextSlot, pausedUntil)
        if let rate = currentRate { nextSlot = start + .nanoseconds(Int64(1e9 / rate)) } else { nextSlot = start }
        recentStarts.append(start)
        if recentStarts.count > 64 { recentStarts.removeFirst(recentStarts.count - 64) }
        if start > now {
            if let stop {
                guard await stop.sleep(until: start) else { throw CancellationError() }
            } else {
                try await Task.sleep(until: start, clock: clock)
            }
        }
        return start
    }

    /// How long from now requests stay paused after 429s (zero when they are not).
    public var pauseRemaining: Duration { max(.zero, pausedUntil - clock.now) }

    /// A 429 arrived: pause everyone (for `retryAfter`, else `fallbackPause`, at most
    /// ``RetryPolicy/maxRetryAfter``) and halve the pace. 429s for requests that were
    /// already in flight when the pace was last halved extend the pause but do not halve it
    /// again, so one burst counts as one slow-down.
    public func rateLimited(retryAfter: Duration?, fallbackPause: Duration, requestStarted: ContinuousClock.Instant) {
        let now = clock.now
        pausedUntil = max(pausedUntil, now + min(retryAfter ?? fallbackPause, RetryPolicy.maxRetryAfter))
        if let lastSlowdown, requestStarted <= lastSlowdown { return }
        lastSlowdown = now
        let observed = observedRate()
        let base = currentRate ?? observed ?? maxRate ?? 10
        currentRate = max(Self.minimumRate, min(base, observed ?? base) / 2)
        slowdowns += 1
    }

    /// A request succeeded: speed up again, additively.
    public func succeeded() {
        guard let rate = currentRate else { return }
        let raised = rate + max(0.5, rate * 0.05)
        if let maxRate {
            currentRate = min(maxRate, raised)
        } else if let observed = observedRate(), raised > observed * 4 {
            currentRate = nil
        } else {
            currentRate = raised
        }
    }

    private func observedRate() -> Double? {
        guard recentStarts.count >= 8, let first = recentStarts.first, let last = recentStarts.last, last > first else { return nil }
        return Double(recentStarts.count - 1) / (last - first).seconds
    }
}
