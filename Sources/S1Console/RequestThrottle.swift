import S1Common
import S1JSON
import S1Model
/// Paces requests for the whole client, one per console: the analysis fetches and the
/// threat listing of a run share one, so a 429 on either slows both.
///
/// Without a cap it finds the console's budget by itself (``PaceController``: no pace at all
/// until the console's first 429, only the concurrency, so a console without a budget is not
/// slowed down; then a slow start, a measurement of the budget from the 429s, a pace just
/// below it, and rare probes above it) and starts from the budget learned on an earlier run
/// when it is given one.
/// With a cap (`--rate`) no second-long window holds more than the cap's requests (rounded
/// up), and the pace stays at the cap unless the console says otherwise.
///
/// After a 429 the controller takes for a budget signal (not the first 429 of an unpaced
/// start, which sets a pace and holds only its own request), every request waits (for
/// `Retry-After` when given, capped at ``RetryPolicy/maxRetryAfter``), and the pace drops to
/// just below the measured budget (against a bucket of one token, found at the first 429,
/// only the request that got it waits: there is no burst to wait out). 429s that do not
/// depend on the pace (the console's own trouble) and the rare 429 of a pace a hair over
/// the budget pause no one: only the request that got it waits, as its retry does anyway.
///
/// Time comes from `now`, a closure, so tests can drive it; waits use the continuous clock.
public actor RequestThrottle {
    private let now: @Sendable () -> ContinuousClock.Instant
    private let origin: ContinuousClock.Instant
    private var schedule: PacingSchedule
    /// Requests held by a full start-up round (unpaced): the next answer wakes them, or
    /// `roundTimer` (for a round whose answers do not all come, and for stops).
    private var roundWaiters: [CheckedContinuation<Void, Never>] = []
    private var roundTimer: Task<Void, Never>?

    /// The user's cap, requests per second; nil for none.
    nonisolated public let maxRate: Double?

    /// A throttle capped at `maxRate` (nil for none), starting near `learnedBudget` (requests
    /// per second measured on an earlier run against the same console) when given.
    public init(maxRate: Double?, learnedBudget: Double? = nil, tuning: PaceController.Tuning = PaceController.Tuning(),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.maxRate = maxRate
        self.now = now
        self.origin = now()
        self.schedule = PacingSchedule(controller: PaceController(cap: maxRate, learned: learnedBudget, tuning: tuning))
    }

    /// How many workers share `maxRate` (processes draining one console's queue together,
    /// counted through the database); each holds `maxRate / sharers`.
    public private(set) var sharers = 1

    /// `n` workers share the cap now (``sharers``): this one's pace is capped at
    /// `maxRate / n` from now on. Without a cap nothing changes (each worker finds its share
    /// of the console's budget from the 429s they all cause, as TCP flows share a link).
    public func share(among n: Int) {
        let n = max(1, n)
        guard n != sharers else { return }
        sharers = n
        guard let maxRate else { return }
        schedule.setCap(maxRate / Double(n))
    }

    /// The pace now, requests per second.
    public var currentRate: Double? { schedule.controller.pace }

    /// 429s taken as budget signals so far (each lowered the pace and paused the client; the
    /// first of an unpaced start set a pace and paused no one).
    public var slowdowns: Int { schedule.controller.budgetSignals }

    /// What the throttle learned and did, for run records and summaries.
    public var report: PacingReport {
        let controller = schedule.controller
        // The budget to remember: the last exact measurement, else the last one (a run's last
        // seconds, when fewer IDs than workers are left, measure the client, not the console).
        return PacingReport(pace: controller.pace, budget: controller.lastTightEstimate ?? controller.estimate,
                            rateLimited: controller.limitedCount,
                            slowdowns: controller.budgetSignals, noiseShare: controller.noiseShare, capped: maxRate != nil)
    }

    /// Waits until the next request may start; returns when it started. Throws
    /// `CancellationError` when `stop` is requested (or the task cancelled) during the wait.
    @discardableResult
    public func acquire(stop: StopRequest? = nil) async throws -> ContinuousClock.Instant {
        var reservation = schedule.reserve(at: seconds(now()))
        while true {
            let start = instant(reservation.start)
            let current = now()
            if start > current, schedule.controller.isUnpaced {
                // The start-up round is full: the next answer may end it (no polling: many
                // short sleeps delay the round that follows).
                await waitForAnAnswer()
                if stop?.isRequested == true { throw CancellationError() }
                try Task.checkCancellation()
                reservation = schedule.reserve(at: seconds(now()))
                continue
            }
            if start > current {
                // In slices of at most a quarter second: when the pace changes or a pause
                // begins meanwhile, a reservation made far ahead is made again at once.
                let wake = min(start, current + .milliseconds(250))
                if let stop {
                    guard await stop.sleep(until: wake) else { throw CancellationError() }
                } else {
                    try await Task.sleep(until: wake, clock: .continuous)
                }
                try Task.checkCancellation()
                if !schedule.isCurrent(reservation) { reservation = schedule.reserve(at: seconds(now())) }
                continue
            }
            try Task.checkCancellation()
            // Other requests ran meanwhile: when the pace fell or a pause began, the
            // reservation is void and is made again.
            if schedule.begin(reservation, at: seconds(now())) { return start }
            reservation = schedule.reserve(at: seconds(now()))
        }
    }

    /// How long from now requests stay paused after a 429 (zero when they are not).
    public var pauseRemaining: Duration {
        let remaining = schedule.pausedUntil - seconds(now())
        return remaining > 0 ? .nanoseconds(Int64((remaining * 1e9).rounded(.up))) : .zero
    }

    /// A 429 arrived for the request started at `requestStarted`. When the controller takes it
    /// for a budget signal (or it belongs to the overshoot one was), every request pauses for
    /// `retryAfter`, else `fallbackPause`, at most ``RetryPolicy/maxRetryAfter``.
    @discardableResult
    public func rateLimited(retryAfter: Duration?, fallbackPause: Duration, requestStarted: ContinuousClock.Instant) -> PaceController.Verdict {
        let pause = min(retryAfter ?? fallbackPause, RetryPolicy.maxRetryAfter)
        let verdict = schedule.limited(startedAt: seconds(requestStarted), pause: pause.seconds, at: seconds(now()))
        wakeRoundWaiters()
        return verdict
    }

    /// The request started at `requestStarted` got an answer other than 429 (a success, a
    /// 404, ...): the console counted it against the budget and let it through.
    public func succeeded(requestStarted: ContinuousClock.Instant? = nil) {
        let time = seconds(now())
        schedule.accepted(startedAt: requestStarted.map(seconds) ?? time, at: time)
        wakeRoundWaiters()
    }

    /// Waits for the next answer, or at most `roundTimerSeconds`.
    private func waitForAnAnswer() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            roundWaiters.append(continuation)
            if roundTimer == nil {
                roundTimer = Task { [weak self] in
                    try? await Task.sleep(for: .milliseconds(Self.roundTimerMilliseconds))
                    await self?.wakeRoundWaiters(timer: true)
                }
            }
        }
    }

    /// How long a request held by a full start-up round waits at most before it looks again.
    private static let roundTimerMilliseconds = 50

    private func wakeRoundWaiters(timer: Bool = false) {
        if timer { roundTimer = nil }
        guard !roundWaiters.isEmpty else { return }
        let waiters = roundWaiters
        roundWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    private func seconds(_ instant: ContinuousClock.Instant) -> Double {
        (instant - origin).seconds
    }

    private func instant(_ seconds: Double) -> ContinuousClock.Instant {
        guard seconds.isFinite else { return origin }
        return origin + .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
    }
}

/// What a throttle learned and did in a run.
public struct PacingReport: Sendable, Equatable {
    /// The pace when the run ended, requests per second.
    public var pace: Double
    /// The console's budget as measured from its 429s; nil when none was measured.
    public var budget: Double?
    /// 429 answers, of every kind.
    public var rateLimited: Int
    /// Of them, the budget signals (each lowered the pace and paused the client).
    public var slowdowns: Int
    /// The learned share of 429s that did not depend on the pace.
    public var noiseShare: Double
    /// True when the user capped the rate.
    public var capped: Bool

    public init(pace: Double, budget: Double?, rateLimited: Int, slowdowns: Int, noiseShare: Double, capped: Bool) {
        self.pace = pace
        self.budget = budget
        self.rateLimited = rateLimited
        self.slowdowns = slowdowns
        self.noiseShare = noiseShare
        self.capped = capped
    }
}
