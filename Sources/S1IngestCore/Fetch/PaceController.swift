/// Finds how many requests per second a console accepts from this token, without being told,
/// and keeps the client just below it. A pure value: every call says what time it is (in
/// seconds, from any origin), so tests drive it with a simulated clock and a simulated
/// console. ``RequestThrottle`` wraps it for the live client.
///
/// What it assumes about the console: a token bucket per token (a budget `B` requests/s, a
/// burst of `b`), answering 429 when the bucket is empty; and perhaps, besides, 429s that
/// have nothing to do with our rate (overloaded backends).
///
/// How it works, and why it converges:
///
/// 1. **Start-up.** From the pace learned on an earlier run (stored per console), else
///    ``Tuning/initialPace``, the pace doubles every ``Tuning/startupDoublingRequests``
///    accepted requests but no faster than every ``Tuning/startupDoublingSeconds`` (TCP's
///    slow start, in requests per second; never more than ``Tuning/startupHeadroom`` times
///    the accepted rate, so a client held back by its concurrency does not run away). The
///    first 429 ends it, at most about one doubling period (and the burst) past the budget.
/// 2. **Measure.** A 429 means the bucket was empty when that request arrived. Between two
///    such moments the console accepted exactly `B × elapsed` requests, whatever our pace did
///    in between (pauses, bursts, bursts refilled): the bucket went from empty to empty. So
///    at each 429 that the controller takes as a budget signal, `accepted since the previous
///    one / time since it` is a measurement of `B` (a lower bound when the bucket overflowed
///    while we were slow, never an overestimate beyond one request). Time the whole client
///    spent paused on a `Retry-After` is left out, since a bucket much smaller than
///    `B × pause` loses those tokens. With no previous signal (the end of start-up) the
///    accepted rate of the last ``Tuning/rateWindowSeconds`` stands in, clamped so one
///    decrease never more than halves the pace.
/// 3. **Decrease to just below the measurement**, not by half: the pace becomes
///    ``Tuning/backoff`` (98%) of it, and never more than ``Tuning/maximumDecreaseFactor``
///    of the pace. Under the budget a token bucket answers no 429 at all, so the next
///    measurement (taken over a long span, when the pace has crept back over `B`) is `B`
///    itself; the fixed point of "pace = 98% of what was accepted" is 98% of `B`. 429s for
///    requests started before the decrease belong to the same overshoot and count once.
/// 4. **Hold, then probe.** After a decrease the pace holds for ``Tuning/holdSeconds`` (and
///    ``Tuning/holdRequests``); then it rises by 1%, 2%, 4%, ... (each step held
///    ``Tuning/probeSeconds``), so a budget that grew is found in a few steps, and an
///    overshoot past an unchanged budget is at most one step. Each probe that finds the
///    budget costs one or two 429s and one pause, every `hold + a few steps` seconds.
/// 5. **Random 429s are not a budget.** After a decrease the controller watches the next
///    requests, made at the lower pace. Under a budget the 429s stop (the pace is now below
///    it); 429s that keep arriving at about the same share do not depend on the pace, so the
///    decrease is undone and that share is learned as noise. From then on 429s within the
///    noise allowance of the recent window change nothing (and pause no one); only an excess
///    over it is a budget signal.
///
/// A user's cap (`--rate`) is a hard ceiling: the pace starts there and never exceeds it.
public struct PaceController: Sendable {
    /// What a 429 was taken for.
    public enum Verdict: Sendable, Equatable {
        /// A budget signal: the pace was lowered; the whole client should pause.
        case budget
        /// For a request started before the last decrease: the same overshoot, already acted
        /// on. The client may extend its pause.
        case sameOvershoot
        /// Within the learned share of 429s that do not depend on the pace: only that
        /// request waits.
        case noise
    }

    /// The controller's constants.
    public struct Tuning: Sendable {
        /// The first pace when nothing was learned before.
        public var initialPace = 10.0
        /// The slowest pace.
        public var minimumPace = 0.5
        /// The fastest pace without a cap or a measurement (requests/s).
        public var maximumPace = 100_000.0
        /// Start-up doubles the pace every this many accepted requests ...
        public var startupDoublingRequests = 10.0
        /// ... but not faster than every this many seconds.
        public var startupDoublingSeconds = 0.25
        /// In start-up the pace stays below this multiple of the accepted rate (once a
        /// second of it is measured).
        public var startupHeadroom = 2.5
        /// A learned pace is resumed at this share of it.
        public var resumeShare = 0.95
        /// The pace after a budget signal: this share of the measured budget.
        public var backoff = 0.98
        /// One budget signal lowers the pace to no less than this share of it.
        public var maximumDecreaseFactor = 0.5
        /// ... and to no more than this share of it.
        public var minimumDecreaseFactor = 0.97
        /// A measurement between two budget signals needs this much unpaused time ...
        public var minimumSpanSeconds = 1.0
        /// ... and this many accepted requests.
        public var minimumSpanRequests = 6
        /// With at least this many accepted, a measurement leaves the time paused out.
        public var pauseFreeSpanRequests = 200
        /// The window for accepted rates and 429 shares.
        public var rateWindowSeconds = 2.0
        /// After a decrease, hold this long ...
        public var holdSeconds = 20.0
        /// ... or this long after a decrease that measured nothing (the end of start-up).
        public var shortHoldSeconds = 3.0
        /// 429s up to this share of accepted requests are absorbed without slowing down.
        public var toleratedShare = 0.01
        /// ... and for at least this many accepted requests, before probing.
        public var holdRequests = 60
        /// Each probe step is held this long.
        public var probeSeconds = 1.0
        /// ... and for at least this many requests.
        public var probeRequests = 25.0
        /// The first probe step (1%), doubled at each step ...
        public var firstProbeStep = 0.01
        /// ... up to this.
        public var maximumProbeStep = 0.25
        /// A decrease is tested for noise only when the 429 share before it was at most this.
        public var noiseShareLimit = 0.2
        /// Responses watched after a decrease, at least.
        public var noiseTestResponses = 20
        /// ... at this share of the pace before the decrease.
        public var noiseTestShare = 0.8

        public init() {}
    }

    private enum Phase: Sendable, Equatable {
        case startup
        /// Holding since `since`, for `seconds`.
        case holding(since: Double, acceptedAtStart: Int, seconds: Double, firstStep: Double)
        /// Probing: the current step and when it started.
        case probing(step: Double, since: Double)
    }

    /// What a decrease changed, to undo it when the 429s turn out to be noise.
    private struct NoiseTest: Sendable {
        var phase: Phase
        var pace: Double
        var estimate: Double?
        var lastSignal: Double?
        var acceptedSinceSignal: Int
        var pausedSinceSignal: Double
        var shareBefore: Double
        var started: Double
        /// The pace to take when the test says budget.
        var target = 0.0
        var responses = 0
        var limited = 0
    }

    public let tuning: Tuning
    /// The user's cap, requests per second; nil for none.
    public let cap: Double?
    /// The pace now, requests per second.
    public private(set) var pace: Double
    /// The console's budget as last measured (requests/s); nil before the first measurement.
    public private(set) var estimate: Double?
    /// The share of 429s learned to be independent of the pace (0 when none seen).
    public private(set) var noiseShare = 0.0
    /// 429s seen, of every kind.
    public private(set) var limitedCount = 0
    /// 429s taken as budget signals (each lowered the pace).
    public private(set) var budgetSignals = 0
    /// Decreases undone because the 429s turned out to be noise.
    public private(set) var undoneDecreases = 0

    private var phase: Phase = .startup
    private var phaseAccepted = 0
    private var acceptedTotal = 0
    /// When the pace last changed in start-up growth.
    private var lastGrowth: Double?
    /// Requests started before this were sent at a pace since lowered.
    private var lastDecrease = -Double.infinity
    /// The last budget signal (receipt time), and what was accepted since, and how long the
    /// client was paused since.
    private var lastSignal: Double?
    private var acceptedSinceSignal = 0
    private var pausedSinceSignal = 0.0
    private var test: NoiseTest?
    /// The last sure measurement, and how many times in a row the hold doubled.
    private var previousMeasure: Double?
    private var holdDoublings = 0
    /// A tolerated 429 since the last pause or decrease: when, and `acceptedTotal` then.
    private var anchor: (time: Double, accepted: Int)?
    /// Receipt times of the latest accepted answers, oldest first.
    private var acceptedTimes = RecentTimes()
    /// The highest pace held for a probe step without a single 429, and the lowest pace
    /// a budget signal came at since: the budget lies between them.
    private var good: Double?
    private var bad: Double?
    private var limitedAtStep = 0
    /// Answers to requests started since the last decrease.
    private var epoch = (responses: 0, limited: 0)
    /// Noise tests still to make.
    private var testsLeft = 3
    /// Tolerated 429s in hand (earned per accepted request, at most one).
    private var credit = 0.0
    private var window = RateWindow()

    /// A controller capped at `cap` (nil for none), resuming from a `learned` budget estimate
    /// when there is one.
    public init(cap: Double?, learned: Double? = nil, tuning: Tuning = Tuning()) {
        self.tuning = tuning
        self.cap = cap.map { max($0, tuning.minimumPace) }
        // With a cap, start at it (the user knows the console's budget, or wants less);
        // else from the budget learned before, else from `initialPace`.
        var start = self.cap ?? tuning.initialPace
        if let learned, learned.isFinite, learned > 0, learned * tuning.resumeShare < start || self.cap == nil {
            start = max(tuning.minimumPace, learned * tuning.resumeShare)
            // Resume by probing upwards from just below it, not by a start-up's doubling
            // (a budget that grew is found in a few steps).
            phase = .probing(step: tuning.firstProbeStep, since: 0)
        }
        self.pace = start
    }

    /// True when the pace is pinned at the user's cap.
    public var isAtCap: Bool { cap.map { pace >= $0 } ?? false }

    /// The pace to space requests by at `now` (start-up growth is applied here).
    public mutating func currentPace(at now: Double) -> Double {
        // A client held back by something else (its concurrency, its own retries' waits)
        // does not let the pace run away from what it achieves.
        if case .startup = phase, !isAtCap, let rate = window.acceptedRate(at: now, span: 1.0) {
            pace = min(pace, max(tuning.initialPace, rate * tuning.startupHeadroom))
        } else if case .probing = phase, !isAtCap, test == nil, let rate = window.acceptedRate(at: now, span: tuning.rateWindowSeconds),
                  rate > 0 {
            pace = min(pace, max(tuning.initialPace, rate * tuning.startupHeadroom, estimate ?? 0))
        }
        return pace
    }

    /// The request started at `startedAt` was answered, and not with a 429 (any answer the
    /// console counted against the budget: 2xx, 404, ...).
    public mutating func accepted(startedAt: Double, at now: Double) {
        acceptedTotal += 1
        acceptedSinceSignal += 1
        credit = min(1, credit + tuning.toleratedShare)
        window.add(accepted: true, at: now)
        acceptedTimes.add(now)
        if startedAt >= lastDecrease { epoch.responses += 1 }
        if var running = test, startedAt >= running.started {
            running.responses += 1
            test = running
            finishTestIfDue(at: now)
        }
        switch phase {
        case .startup:
            guard !isAtCap, startedAt >= lastDecrease else { break }
            let last = lastGrowth ?? now
            // Double per `startupDoublingRequests` accepted, but not faster than per
            // `startupDoublingSeconds`.
            let perRequest = ln2 / tuning.startupDoublingRequests
            let perSecond = ln2 / tuning.startupDoublingSeconds
            let growth = min(perRequest, perSecond * max(0, now - last))
            pace = min(pace * exp(growth), cap ?? tuning.maximumPace, tuning.maximumPace)
            lastGrowth = now
        case .holding(let since, let acceptedAtStart, let seconds, let firstStep):
            if test == nil, now - since >= seconds, acceptedTotal - acceptedAtStart >= tuning.holdRequests {
                phase = .probing(step: firstStep, since: now)
                probe(step: firstStep)
            }
        case .probing(let step, let since):
            // Each step lasts long enough for a few dozen requests (a slow console is probed
            // slowly: each probe past its budget costs a 429 or two).
            if test == nil, now - since >= max(tuning.probeSeconds, tuning.probeRequests / pace) {
                let next = min(step * 2, tuning.maximumProbeStep)
                phase = .probing(step: next, since: now)
                probe(step: next)
            }
        }
    }

    /// The client was paused (on a `Retry-After`) for `seconds`.
    public mutating func paused(seconds: Double) {
        guard seconds > 0 else { return }
        anchor = nil
        pausedSinceSignal += seconds
        window.pause(seconds)
    }

    /// The request started at `startedAt` was answered 429 at `now`.
    public mutating func limited(startedAt: Double, at now: Double) -> Verdict {
        limitedCount += 1
        window.add(accepted: false, at: now)
        if startedAt >= lastDecrease {
            epoch.responses += 1
            epoch.limited += 1
        }
        if var running = test, startedAt >= running.started {
            running.responses += 1
            running.limited += 1
            test = running
            // More 429s at the lower pace than before it: still over a budget, not noise.
            if running.limited >= 2,
               Double(running.limited) / Double(running.responses) > 1.5 * running.shareBefore + 1 / Double(running.responses) {
                test = nil
                return decrease(at: now)
            }
            switch finishTestIfDue(at: now) {
            case .noise?: return .noise
            case nil: return .noise  // still watching: this request waits, the client does not
            default: break  // a budget after all: judge this 429 as any other
            }
        }
        if startedAt < lastDecrease { return .sameOvershoot }
        if noiseShare > 0 {
            let (responses, limited) = window.counts(at: now, buckets: 16)
            let expected = noiseShare * Double(responses)
            // Only clearly more than the noise is a budget signal (twice its share and then
            // some): random 429s are not a budget.
            if Double(limited) <= 2 * expected + 3 * expected.squareRoot() + 2 { return .noise }
            // And, with noise about, every such signal is tested again.
            testsLeft = max(testsLeft, 1)
        }
        // A few 429s are tolerated (about one per `1 / toleratedShare` accepted requests):
        // a pace a hair over the budget, or arrivals bunched by the network, are cheaper to
        // absorb than to slow down for.
        if phase != .startup, credit >= 1 {
            credit -= 1
            if anchor == nil { anchor = (now, acceptedTotal) }
            return .noise
        }
        return decrease(at: now)
    }

    // MARK: Internals

    /// Accepted answers per second over the last quarter second or dozen answers, whichever
    /// is longer (at most the last 256).
    private func recentAcceptedRate(at now: Double) -> Double? {
        acceptedTimes.rate(at: now, minimumSeconds: 0.25, minimumCount: 12)
    }

    /// One probe step up, by `step` (1%, 2%, 4%, ...: a budget that grew is found in a few
    /// steps, and an overshoot is at most one step).
    private mutating func probe(step: Double) {
        // Only a step without a single 429 counts as clean.
        if limitedCount == limitedAtStep { good = max(good ?? 0, pace) }
        limitedAtStep = limitedCount
        var next: Double
        if let bad, bad > pace * 1.02 {
            // Between a clean pace and one that was limited: halve the gap (binary search).
            next = (pace + bad) / 2
        } else {
            // No limit known above (or as close as it matters): widen, 1%, 2%, 4%, ...
            bad = nil
            next = pace * (1 + step)
        }
        if let cap { next = min(next, cap) }
        pace = min(next, tuning.maximumPace)
    }

    private mutating func decrease(at now: Double) -> Verdict {
        budgetSignals += 1
        let (responses, limited) = window.counts(at: now)
        let share = responses > 0 ? Double(limited) / Double(responses) : 1
        let snapshot = NoiseTest(phase: phase, pace: pace, estimate: estimate, lastSignal: lastSignal,
                                 acceptedSinceSignal: acceptedSinceSignal, pausedSinceSignal: pausedSinceSignal,
                                 shareBefore: share, started: now)
        // Between two budget signals the bucket went from empty to empty: what it accepted
        // in between is `budget × time`. Tokens a pause refilled are either spent after it
        // and counted (a bucket bigger than `budget × pause`: count the pause in) or lost (a
        // small bucket: leave the pause out). With many requests accepted since, the pause's
        // refill (at most a burst, a few dozen) hardly counts, so it is left out; with few,
        // it is kept in, which can only underestimate (probing wins that back).
        var spanMeasure: Double?
        var roughSpan = false
        if let lastSignal {
            let span = now - lastSignal
            let unpaused = span - pausedSinceSignal
            if acceptedSinceSignal >= tuning.pauseFreeSpanRequests, unpaused >= tuning.minimumSpanSeconds {
                spanMeasure = Double(acceptedSinceSignal) / unpaused
            } else if span >= tuning.minimumSpanSeconds, acceptedSinceSignal >= tuning.minimumSpanRequests {
                let withPauses = Double(acceptedSinceSignal) / span
                if pausedSinceSignal <= span * 0.25 {
                    spanMeasure = withPauses
                } else {
                    // Mostly a pause: the budget lies between the rate with the pause counted
                    // in (all its tokens lost) and without it (all kept). Take the geometric
                    // middle, and do not trust it for long.
                    spanMeasure = (withPauses * Double(acceptedSinceSignal) / max(unpaused, span * 0.1)).squareRoot()
                    roughSpan = true
                }
            }
        }
        // Without one (the end of start-up, a signal soon after a pause): the accepted rate
        // of the last moment, over at least a quarter second and a dozen requests. At the
        // end of a ramp that is about the budget (a big burst inflates it; the next signal,
        // measured, corrects that).
        let recent = recentAcceptedRate(at: now)
        // The best measurement: from a tolerated 429 to this one, with no pause and no
        // decrease in between (the pace only rose): the bucket was empty at both ends and
        // overdriven all along, so what it accepted in between is exactly its budget.
        var tight: Double?
        if let anchor, now - anchor.time >= tuning.minimumSpanSeconds, acceptedTotal - anchor.accepted >= tuning.minimumSpanRequests {
            tight = Double(acceptedTotal - anchor.accepted) / (now - anchor.time)
        }
        var target: Double
        var sure = spanMeasure != nil && !roughSpan
        if let tight {
            target = tight * tuning.backoff
            sure = true
            spanMeasure = tight
        } else if let spanMeasure {
            // Between two signals the pace may have been under the budget for a while (the
            // bucket overflowed): a lower bound. The step before this one was clean: the
            // budget is above it.
            target = spanMeasure * tuning.backoff
            if let good, good < pace { target = max(target, good * tuning.backoff) }
            // Close to the pace that overran: the pace stayed near the budget all along, and
            // the bound is tight.
            sure = sure && spanMeasure >= pace * 0.9
        } else {
            target = min(pace, recent ?? pace) * tuning.backoff
        }
        anchor = nil
        bad = min(bad ?? pace, pace)
        if let known = good, known >= pace { good = nil }  // it was not clean after all
        let lowest = pace * tuning.maximumDecreaseFactor
        let highest = pace * tuning.minimumDecreaseFactor
        let before = pace
        pace = max(tuning.minimumPace, min(highest, max(lowest, target)))
        estimate = spanMeasure ?? pace / tuning.backoff
        lastSignal = now
        acceptedSinceSignal = 0
        pausedSinceSignal = 0
        lastDecrease = now
        credit = 0
        epoch = (0, 0)
        // Hold long only near the edge: after a small, measured decrease.
        let nearEdge = sure
        _ = before
        // A measurement that agrees with the previous one (within 3%) doubles the hold: a
        // steady console is probed less and less often (at most every `maximumHoldSeconds`).
        if sure, let previous = previousMeasure, abs(spanMeasure ?? 0 - previous) <= previous * 0.03 {
            holdDoublings = min(holdDoublings + 1, 3)
        } else if sure {
            holdDoublings = 0
        }
        if sure { previousMeasure = spanMeasure }
        // After a guess, not a measurement: probe again soon, in bigger steps.
        phase = .holding(since: now, acceptedAtStart: acceptedTotal,
                         seconds: nearEdge ? tuning.holdSeconds * Double(1 << holdDoublings) : tuning.shortHoldSeconds,
                         firstStep: nearEdge ? tuning.firstProbeStep : tuning.firstProbeStep * 4)
        // Only a decrease to below a measured budget can tell noise from budget: under a
        // budget its 429s then stop.
        // The first few decreases are tested for noise (noise shows at once; a console that
        // only ever limits by budget should not pay for the test forever): the pace goes well
        // below the budget for a moment, where a token bucket answers no 429 at all.
        // Judged over the last four seconds, and only with enough answers in them to
        // compare shares (below about 10 accepted requests a second, no test: a slow
        // console's noise is taken for a budget).
        let (recentResponses, recentLimited) = window.counts(at: now, buckets: 16)
        // (Noise under the tolerated share needs no test: it is tolerated anyway.)
        let recentShare = recentResponses > 0 ? Double(recentLimited) / Double(recentResponses) : 0
        if recentResponses - recentLimited >= 40, testsLeft > 0,
           recentShare > tuning.toleratedShare, recentShare <= tuning.noiseShareLimit {
            testsLeft -= 1
            var running = snapshot
            running.shareBefore = Double(recentLimited) / Double(recentResponses)
            running.target = pace
            test = running
            pace = max(tuning.minimumPace, min(pace, snapshot.pace * tuning.noiseTestShare))
        } else {
            test = nil
        }
        return .budget
    }

    private func isMeasured(phase: Phase) -> Bool {
        if case .probing = phase { return false }
        return true
    }

    /// Ends the noise test once enough responses came: 429s at about the share before the
    /// decrease mean it was noise (the decrease is undone).
    @discardableResult
    private mutating func finishTestIfDue(at now: Double) -> Verdict? {
        guard let running = test else { return nil }
        let needed = max(tuning.noiseTestResponses, Int((3 / max(running.shareBefore, 0.01)).rounded(.up)))
        guard running.responses >= needed else { return nil }
        test = nil
        let share = Double(running.limited) / Double(running.responses)
        guard running.limited >= 2, share >= 0.5 * running.shareBefore, share <= 1.5 * running.shareBefore + 0.02,
              share <= tuning.noiseShareLimit else {
            // A budget: what 429s remain at the lower pace are all the noise there can be.
            if noiseShare > 0 { noiseShare = 0.5 * noiseShare + 0.5 * share }
            pace = max(pace, running.target)
            return .budget
        }
        // Noise: the 429s did not fall when the pace did. Undo, and learn their share.
        let learned = max(share, running.shareBefore)
        noiseShare = noiseShare == 0 ? learned : 0.7 * noiseShare + 0.3 * learned
        budgetSignals -= 1
        undoneDecreases += 1
        phase = running.phase
        pace = running.pace
        estimate = running.estimate
        lastSignal = running.lastSignal
        acceptedSinceSignal += running.acceptedSinceSignal
        pausedSinceSignal += running.pausedSinceSignal
        lastDecrease = -Double.infinity
        if case .startup = phase { lastGrowth = now }
        return .noise
    }
}

/// Accepted and 429 answers in the last few seconds, in quarter-second buckets; time the
/// client spent paused is left out of rates.
private let ln2 = 0.693_147_180_559_945_3

/// The last 256 receipt times, for rates over the last moment.
struct RecentTimes: Sendable {
    private var times = [Double](repeating: 0, count: 256)
    private var count = 0
    private var next = 0

    mutating func add(_ time: Double) {
        times[next] = time
        next = (next + 1) % times.count
        count = min(count + 1, times.count)
    }

    /// Events per second over the newest ones spanning at least `minimumSeconds` and
    /// `minimumCount` events (nil with fewer than `minimumCount`).
    func rate(at now: Double, minimumSeconds: Double, minimumCount: Int) -> Double? {
        guard count >= minimumCount else { return nil }
        var taken = 0
        var oldest = now
        while taken < count {
            let time = times[(next - 1 - taken + times.count * 2) % times.count]
            if taken >= minimumCount && now - time > minimumSeconds { break }
            oldest = time
            taken += 1
        }
        let seconds = max(now - oldest, 1e-3)
        return Double(taken) / max(seconds, minimumSeconds * 0.5)
    }
}

struct RateWindow: Sendable {
    private static let bucketSeconds = 0.25
    private static let bucketCount = 16
    private var accepted = [Int](repeating: 0, count: bucketCount)
    private var limited = [Int](repeating: 0, count: bucketCount)
    private var paused = [Double](repeating: 0, count: bucketCount)
    private var newest = 0
    private var newestIndex = 0
    private var first: Double?

    private mutating func advance(to now: Double) -> Int {
        if first == nil { first = now }
        let index = Int(((now - first!) / Self.bucketSeconds).rounded(.down))
        if index > newestIndex {
            let steps = min(index - newestIndex, Self.bucketCount)
            for _ in 0..<steps {
                newest = (newest + 1) % Self.bucketCount
                accepted[newest] = 0
                limited[newest] = 0
                paused[newest] = 0
            }
            newestIndex = index
        }
        return newest
    }

    mutating func add(accepted isAccepted: Bool, at now: Double) {
        let slot = advance(to: now)
        if isAccepted { accepted[slot] += 1 } else { limited[slot] += 1 }
    }

    mutating func pause(_ seconds: Double) {
        guard first != nil else { return }
        paused[newest] += seconds
    }

    /// Responses and 429s in the last `rateWindowSeconds`-ish (8 buckets).
    mutating func counts(at now: Double, buckets: Int = 8) -> (responses: Int, limited: Int) {
        _ = advance(to: now)
        var responses = 0, limitedSum = 0
        for offset in 0..<min(buckets, Self.bucketCount) {
            let slot = (newest - offset + Self.bucketCount) % Self.bucketCount
            responses += accepted[slot] + limited[slot]
            limitedSum += limited[slot]
        }
        return (responses, limitedSum)
    }

    /// Accepted requests per unpaused second over the last `span` seconds; nil until that
    /// much time has been seen.
    mutating func acceptedRate(at now: Double, span: Double) -> Double? {
        guard let first else { return nil }
        _ = advance(to: now)
        let buckets = min(Self.bucketCount, max(1, Int((span / Self.bucketSeconds).rounded())))
        let seen = min(buckets, newestIndex + 1)
        guard now - first >= 0.5 else { return nil }
        var count = 0, pausedSum = 0.0
        for offset in 0..<seen {
            let slot = (newest - offset + Self.bucketCount) % Self.bucketCount
            count += accepted[slot]
            pausedSum += paused[slot]
        }
        // The newest bucket is partly elapsed.
        let elapsedInNewest = now - first - Double(newestIndex) * Self.bucketSeconds
        let seconds = Double(seen - 1) * Self.bucketSeconds + elapsedInNewest - pausedSum
        return seconds > 0.1 ? Double(count) / seconds : nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The schedule the whole client keeps: requests spaced by the controller's pace, and a
/// pause after a 429 the controller takes for a budget signal. Times in seconds from any
/// origin, like ``PaceController``; ``RequestThrottle`` runs it on the real clock.
///
/// A request reserves a start time, waits for it, then begins (``begin(_:at:)``). When the
/// pace falls or a pause starts meanwhile, reservations made before are void and are made
/// again: otherwise up to `concurrency` requests reserved at the old pace would still go out
/// at it after the console said no.
public struct PacingSchedule: Sendable {
    /// A reserved start.
    public struct Reservation: Sendable, Equatable {
        public let start: Double
        let generation: Int
    }

    public private(set) var controller: PaceController
    private var nextSlot = -Double.infinity
    private var lastBegun = -Double.infinity
    private var generation = 0
    private var reservedPace = Double.infinity
    public private(set) var pausedUntil = -Double.infinity

    private mutating func renew(pace: Double) {
        generation += 1
        nextSlot = max(lastBegun + 1 / pace, pausedUntil)
    }

    public init(controller: PaceController) {
        self.controller = controller
    }

    /// Reserves the next start, asked at `now`. Starts are at least `1 / pace` apart, so
    /// under a cap `R` no second holds more than `R` of them (rounded up).
    public mutating func reserve(at now: Double) -> Reservation {
        let pace = controller.currentPace(at: now)
        if pace > reservedPace * 1.25 || pace < reservedPace * 0.8 {
            // The pace moved a lot (start-up growth): reservations made at the old one are
            // made again, so the queue of waiting requests moves at the new pace.
            if reservedPace.isFinite { renew(pace: pace) }
            reservedPace = pace
        }
        let start = max(now, nextSlot, pausedUntil)
        // A hair more than 1/pace, so rounding never puts R + 1 starts in a second.
        nextSlot = start + (1 / pace) * (1 + 1e-9)
        return Reservation(start: start, generation: generation)
    }

    /// At `now` (at or after its start), the request with `reservation` begins: true, unless
    /// the pace fell or a pause began since it was made; then reserve again.
    public mutating func begin(_ reservation: Reservation, at now: Double) -> Bool {
        guard reservation.generation == generation else { return false }
        lastBegun = max(lastBegun, reservation.start)
        return true
    }

    /// ``reserve(at:)`` and ``begin(_:at:)`` in one, for a caller that does not wait
    /// (tests): the start to use.
    public mutating func nextStart(at now: Double) -> Double {
        let reservation = reserve(at: now)
        lastBegun = max(lastBegun, reservation.start)
        return reservation.start
    }

    public mutating func accepted(startedAt: Double, at now: Double) {
        controller.accepted(startedAt: startedAt, at: now)
    }

    /// A 429 at `now` for the request started at `startedAt`: the controller's verdict, and
    /// for anything but noise a pause of every request for `pause` seconds from now.
    @discardableResult
    public mutating func limited(startedAt: Double, pause: Double, at now: Double) -> PaceController.Verdict {
        let before = controller.pace
        let verdict = controller.limited(startedAt: startedAt, at: now)
        var changed = controller.pace < before
        if verdict != .noise {
            let until = now + max(0, pause)
            if until > pausedUntil {
                controller.paused(seconds: until - max(pausedUntil, now))
                pausedUntil = until
                changed = true
            }
        }
        if changed {
            renew(pace: controller.pace)
            reservedPace = controller.pace
        }
        return verdict
    }
}
