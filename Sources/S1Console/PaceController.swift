import S1Common
import S1JSON
import S1Model
/// Finds how many requests per second a console accepts from this token, without being told,
/// and keeps the client at it. A pure value: every call says what time it is (seconds, from
/// any origin), so tests drive it with a simulated clock and a simulated console;
/// ``RequestThrottle`` runs it on the real one.
///
/// What it assumes about the console: a token bucket per token (a budget of `B` requests per
/// second, a burst of `b`) answering 429 when the bucket is empty; and perhaps, besides, 429s
/// that have nothing to do with the client's rate.
///
/// How it works, and why it converges:
///
/// 0. **Unpaced start** (TCP before its first loss: no limit but the window). Without a cap
///    and a learned budget, requests are not spaced at all until the console's first 429:
///    the concurrency is the only limit, as it was before there was a pacer, so a console
///    without a budget costs nothing. Only the first round trips are held, in rounds that
///    grow by half while small (2, 3, 4, 6), the one that would carry the total past
///    ``Tuning/startupDeepBurst`` cut to end there (7), then from 4 again, 1.75 times each
///    (4, 7, 12, 21, ...), each sent once the one before was answered, so that a slow
///    console's first 429 comes while few requests are out: a burst of 5 at 5 req/s, or a
///    burst of 20 the deep burst emptied, answers the next round with a 429 or two, not
///    with a round of 8 or 16 (every 429 is a third of a percent of a minute at 5 req/s).
///    The first 429 ends it, and pauses no one but its request (at a large budget it is a
///    small burst answering requests sent at once): the pace becomes what was accepted since
///    the first request, per second over at least a quarter second (a second when fewer
///    than ten were accepted: that was a burst, not a rate; with at most one accepted, the
///    floor, never the time to the first 429, which a busy machine stretches), and a start-up (1.) grows it
///    from there. The next 429 measures from this one: the bucket was empty at both (soon
///    after, with few answered since, one more than they per second is the bound, and the
///    pace may fall to an eighth: a deep burst at a low budget is not its rate; so may any
///    decrease until one has reached its measurement). A 429 with
///    at most one request accepted says the bucket holds one token (``singleBurst``, 5.).
///    A second 429 for a request sent together with the first (the same round), with fewer
///    than ``Tuning/unpacedBurstRequests`` accepted, says the whole round met an empty
///    bucket: what was accepted may be its burst, so the pace is that over a second (20 in
///    a fifth of a second reads 80/s at a budget of 5; each later 429 at such a pace has a
///    round trip of requests behind it). While the pace is still that guess and was never
///    under what it measures, the client has been over the budget since the first 429, so
///    the bucket, empty then, never filled: a 429 measures from the *first* one, accepted
///    since over all that time (within one request), not from the last signal, which at a
///    deep burst and a low budget leaves one or two answers to go by.
/// 1. **Start-up** (TCP's slow start, in requests per second). From ``Tuning/initialPace``
///    (or where an unpaced start left it) the pace doubles every
///    ``Tuning/startupDoublingRequests`` accepted requests, but not faster than every
///    ``Tuning/startupDoublingSeconds`` and at least every
///    ``Tuning/startupSlowDoublingSeconds`` (a slow pace), and stays within
///    ``Tuning/startupHeadroom`` times the accepted rate (a client held back by its
///    concurrency does not run away). The first 429 ends it, at most one doubling (plus the
///    burst) past the budget. A run that learned a budget before skips this: it starts just
///    below that budget and cruises (3.).
/// 2. **Measure, then decrease to just below the measurement** (not by half). A 429 means the
///    bucket was empty when that request arrived. Between two such moments, with the client
///    sending faster than the budget all along, the bucket accepted exactly `B × elapsed`
///    requests. So when a budget signal follows a tolerated 429 with no pause or decrease in
///    between, `accepted / elapsed` is `B` itself ("tight"). Failing that, the rate accepted
///    since the previous signal (a lower bound: the bucket may have overflowed while the
///    client was slower) or, at the end of start-up, the accepted rate of the last quarter
///    second stands in (after an unpaced start, the larger of the two). The pace becomes
///    ``Tuning/backoff`` (98%) of it, lowered by at least
///    3% and at most by half. The whole client pauses (for `Retry-After`), and 429s for
///    requests started before the decrease belong to the same overshoot: they count once.
///    Time paused is left out of rates where the bucket cannot have kept its tokens, so a
///    pause does not drive the measurement down: what was accepted less the bucket's depth
///    (what the unpaced start got beyond a budget's worth of its span, an upper bound of
///    it, so the result stays a lower bound of `B`) per unpaused second.
/// 3. **Cruise.** The pace creeps up: a step every half second (and at least
///    ``Tuning/cruiseStepRequests`` requests) of 0.5%, doubled after every two steps without
///    a 429 (at most ``Tuning/nearStep``, 2%, within 30% of the measurement, and
///    ``Tuning/maximumStep`` beyond it: a budget that grew is found within seconds), back to
///    0.5% after a step with a 429; a step clean only because the client sent far less than
///    the pace (held back by its concurrency) raises it to no more than
///    ``Tuning/cruiseHeadroom`` times what it sent. After a tight measurement it stays just
///    under it for ``Tuning/holdSeconds`` (or ``Tuning/holdRequests`` at that budget, when longer: a
///    probe costs two or three 429s) before probing above. A measurement since the last
///    signal over ``Tuning/longSpanRequests`` accepted requests, hardly paused and with the
///    pace never under 95% of it, counts as tight: the bucket, empty at both ends, could not
///    fill in between. 429s up to ``Tuning/toleratedShare`` (1%)
///    of accepted requests are tolerated: they pause no one, and the first anchors a tight
///    measurement, which the next 429s beyond the tolerance complete (a few more are let
///    through for it on a fast console). Not under ``Tuning/slowConsolePace``: there a 429
///    is a third of a percent of a minute, and the one that would complete the measurement
///    comes seconds later, so a probe's first 429 is the signal, measured over the long span
///    since the last one. A decrease may go as deep as one after a guess (to an eighth)
///    when the span was hardly paused and the pace never under the measurement: the client
///    was over the budget all along, and what was accepted is the budget, not a lower bound
///    of it. The fixed point: under `B` a token bucket answers
///    no 429 and the pace rises; over it 429s come at `pace − B` per second once the burst is
///    spent, and they measure `B` exactly, so one decrease lands at 98% of `B`: the pace
///    stays between 98% and 100% of `B`, with 429s under 1% of requests.
/// 4. **Random 429s are not a budget.** The first few decreases are tested: for a moment the
///    pace drops to ``Tuning/noiseTestShare`` of what it was, where a token bucket answers no
///    429 at all. 429s that keep arriving at about the same share do not depend on the pace:
///    the decrease is undone, and that share is learned as noise. From then on 429s up to
///    about twice the noise share change nothing and pause no one. The share before is that
///    of the last four seconds, or of the last 128 answers when four seconds hold fewer than
///    40 (a slow client: otherwise its noise is never tested, and each 429 a pause and a
///    decrease ratchets it down to the floor). The test watches enough answers to expect
///    about eight 429s if it is noise, or three 429s (none for a token bucket under its
///    budget), or ``Tuning/noiseTestSeconds`` with enough to expect five, at 90% of the
///    pace after the decrease (95% after an exact measurement: 93% of the budget, where a token
///    bucket answers none) and at most 80% of the one before (under the budget even when
///    the measurement was a little over it); noise when they come at no more than the share
///    before can have been by chance. No test at a pace still over the measurement before
///    (a deep bucket that crept over its budget unseen reads high once). A decrease that
///    comes at a pace already under the last measurement (where a token bucket answers
///    none) is tested again; one found to be noise returns to a start-up from the pace
///    before it, since the ones before may have been noise too.
/// 5. **A bucket of one token** (`b = 1`): two requests must arrive `1 / B` apart, so a pace
///    a hair over `B` has every other request refused and the accepted rate halves: the
///    measurements of 2. read about `B / 2`. Instead the budget is bracketed: a whole cruise
///    step sent without a 429 is a lower bound (``cleanPace``), the pace that met the 429 an
///    upper one. A measurement under the clean pace is replaced by it; when the two are
///    within ``Tuning/bracketShare`` the pace is held just under it, else it creeps up from
///    it in small steps (each clean one raising it) until they are. A 429 at a pace already
///    sent cleanly is jitter (a late request, then one on time, arrive closer than
///    `1 / B`), not a lower budget: the pace steps down 1% for room, unless such 429s are over
///    ``Tuning/jitterShare`` of the answers. Its 429s pause no one but their request: the
///    bucket has no burst to wait out.
///    From ``Tuning/jitterPace`` (50/s) up, where `1 / B` is 20 ms or less and a busy machine's
///    fraction of a millisecond of jitter is a real share of it, the share of 429s decides,
///    not each 429: over the budget about every other request is refused, so over
///    ``Tuning/jitterShare`` of the last second's answers (within a second of a decrease, of
///    the answers to requests sent since) is a signal; under it a 429 is
///    jitter: a cruise step with more of them than ``Tuning/jitterTarget`` of its requests
///    lowers the pace by the excess share (at most ``Tuning/jitterLargestStep``), so the pace
///    settles where that is their share; a step with no more than its share is still clean.
///    The hold after a bracketed signal sits at ``Tuning/singleBurstHold`` of the pace that
///    met it (the clean pace, a lower bound, is often a step or two lower), and a decrease
///    with no clean pace yet goes a step down (``Tuning/singleBurstStep``), not to the halved
///    reading. The start-up doubles by time alone there, from the floor up (every 429 it
///    meets is over the budget, and the first one measures it; from ``Tuning/jitterPace`` up
///    every ``Tuning/singleBurstDoublingSeconds``), and its first signal takes
///    the rate the refused request was sent at (``Tuning/singleBurstStartShare`` of it),
///    which had just met the budget: the pace it started at, or under ``Tuning/jitterPace``
///    the gap before it; at a fast pace the first of the run of 429s that ends it (the ones
///    before the signal, taken for jitter, were sent ever faster). Within a second of a
///    decrease there, a second signal takes a quarter of the answers since refused
///    (``Tuning/jitterShareAfterSignal``), not a twentieth: over the budget about every
///    other one is. And ``PacingSchedule`` spaces requests from the
///    actual start of one that began later than requests usually do, not from its reserved
///    one (against any other bucket too, for a stall of two requests' time or more, so that
///    the requests due during it do not leave together).
///
/// A user's cap (`--rate`) is a hard ceiling: the pace starts there and never exceeds it.
/// With no unpaced start, nothing tells a one-token bucket, so from ``Tuning/jitterPace`` up,
/// within ``Tuning/nearCapShare`` of the cap, 429s up to ``Tuning/jitterShare`` of the last four
/// seconds' answers are jitter (a cap just under such a bucket's budget met a second's pause at
/// each, and kept 40–75% of itself); more are the budget, as anywhere.
public struct PaceController: Sendable {
    /// What a 429 was taken for.
    public enum Verdict: Sendable, Equatable {
        /// A budget signal: the pace was lowered; the whole client should pause.
        case budget
        /// The first 429 of an unpaced start: the pace is set (from what was accepted), and
        /// only that request waits (its 429 may be a burst sent at once, not the budget).
        case firstLimit
        /// For a request started before the last decrease: the same overshoot, already acted
        /// on. The client may extend its pause.
        case sameOvershoot
        /// Tolerated (a few 429s at the edge of the budget) or noise (429s that do not depend
        /// on the pace): only that request waits.
        case noise
    }

    /// The controller's constants.
    public struct Tuning: Sendable {
        /// Without a cap or a learned budget, no pace at all until the console's first 429:
        /// concurrency is the only limit then, as in TCP before its first loss (false: the
        /// pace starts at `initialPace` and grows as `startupDoublingRequests` says).
        public var unpacedStart = true
        /// While unpaced, requests go in rounds: this many in the first, then twice as many
        /// (`startupWindowGrowth`) once the round before was answered in full (TCP's slow
        /// start), until a round is larger than the concurrency and no round holds anyone.
        public var startupWindow = 2.0
        public var startupWindowGrowth = 1.75
        /// Rounds smaller than `startupSmallRound` grow by this instead (2, 3, 4, 6, 10, ...),
        /// before `startupDeepBurst`:
        /// a bucket of 5 at 5 req/s answers a round of 8 after 6 with seven 429s, a round of
        /// 4 after 5 with two.
        public var startupSmallGrowth = 1.5
        public var startupSmallRound = 8.0
        /// The round after the one that reached `startupDeepBurst` starts small again, at
        /// this many, and doubles from there: a deep bucket at a low budget, emptied by the
        /// deep burst, answers it with a couple of 429s, not with a round of 16.
        public var startupAfterDeepBurst = 4.0
        /// The round that would carry the requests sent unpaced past this many is cut to end
        /// there (rounds of 2, 4, 8, 8, 16, ...): a bucket as deep as consoles' usually are (20)
        /// is then emptied by a few requests too many, not by half a round (a round of 16
        /// after 14 sent met 6 tokens: ten 429s, 3% of a minute at 5 req/s).
        public var startupDeepBurst = 22.0
        /// A round whose answers do not all come (a request lost without one) ends after
        /// this many times the latency (or a second before any answer).
        public var startupRoundTimeout = 4.0
        /// The first 429 of an unpaced start ends it. The pace is then what was accepted since
        /// the start, as a rate over at least `unpacedShortSpan` seconds, or over at least
        /// `unpacedMinimumSpan` when fewer than `unpacedFewRequests` were accepted (a slow
        /// console's burst, not its budget), but no less than that rate or `unpacedFloor`,
        /// whichever is lower; it grows from there as a start-up from `initialPace` does.
        public var unpacedShortSpan = 0.25
        public var unpacedMinimumSpan = 1.0
        public var unpacedFewRequests = 10
        public var unpacedFloor = 10.0
        /// When a second request of the unpaced start is refused too and fewer than this many
        /// were accepted, the pace is what they make over `unpacedMinimumSpan` (a deep burst).
        public var unpacedBurstRequests = 30
        /// Two requests started within this many seconds of each other (or a quarter of the
        /// latency) were sent together: a real client's round starts over a few milliseconds.
        public var sameRoundSeconds = 0.002
        /// The first pace when nothing was learned before.
        public var initialPace = 10.0
        /// The slowest pace.
        public var minimumPace = 0.5
        /// The fastest pace without a cap.
        public var maximumPace = 100_000.0
        /// Start-up doubles the pace every this many accepted requests ...
        public var startupDoublingRequests = 10.0
        /// ... but not faster than every this many seconds.
        public var startupDoublingSeconds = 0.25
        /// ... and at least every this many seconds (a slow pace: ten requests may take long).
        public var startupSlowDoublingSeconds = 1.0
        /// The pace stays below this multiple of the accepted rate while it grows.
        public var startupHeadroom = 2.5
        /// A clean cruise step raises the pace to no more than this multiple of the rate it
        /// sent at: a client held back by its concurrency, whose slots free in bunches, then
        /// still spaces them (at 200 ms and C=64 against 500 req/s, burst 5, the pace ran up
        /// to 800 while 320 were sent, and every 20 s a bunch started 1.25 ms apart met the
        /// empty bucket: a budget signal and a second's pause).
        public var cruiseHeadroom = 1.5
        /// A learned budget is resumed at this share of it.
        public var resumeShare = 0.95
        /// The pace after a budget signal: this share of the measured budget.
        public var backoff = 0.98
        /// One budget signal lowers the pace to no less than this share of it ...
        public var maximumDecreaseFactor = 0.5
        /// ... and to no more than this share of it.
        public var minimumDecreaseFactor = 0.97
        /// A measurement needs this much time ...
        public var minimumSpanSeconds = 0.5
        /// ... and this many accepted requests.
        public var minimumSpanRequests = 6
        /// A tight measurement needs this much time and this many accepted requests.
        public var minimumTightSeconds = 0.25
        public var minimumTightRequests = 10
        /// 429s beyond the tolerated ones let pass to get there.
        public var deferredLimit = 20
        /// With at least this many accepted since the last signal, a measurement leaves the
        /// time paused out (a burst refilled by the pause hardly counts against so many).
        public var pauseFreeSpanRequests = 200
        /// After a tight measurement the pace stays just under it this long before probing
        /// above it (for a budget that grew).
        public var holdSeconds = 30.0
        /// ... or, at a slow pace, as long as this many requests take: a probe above the
        /// budget costs two or three 429s, which at 5 req/s every 30 s is 2% of the requests.
        public var holdRequests = 300.0
        /// ... but never longer than this (a budget read far too low, from random 429s at a
        /// slow pace, must not hold the pace down for many minutes).
        public var longestHoldSeconds = 90.0
        /// A measurement since the last signal over at least this many accepted requests,
        /// paused for at most 5% of it and the pace never far under it, is as good as a tight
        /// one (the bucket empty at both ends and never full in between): within one
        /// request of the budget's worth.
        public var longSpanRequests = 40
        /// While the pace is the unpaced start's guess, a 429 at least this long after the
        /// first measures from it.
        public var guessSpanSeconds = 0.25
        /// ... and a budget learned on an earlier run this long.
        public var resumeHoldSeconds = 5.0
        /// A pace sent without a 429 just under one that met a 429 brackets the budget when
        /// it is at least this share of it: the pace is held under it (else it creeps up).
        public var bracketShare = 0.96
        /// After a budget signal, cruising resumes after this long.
        public var settleSeconds = 2.0
        /// A cruise step lasts at least this long ...
        public var cruiseStepSeconds = 0.5
        /// ... and this many requests.
        public var cruiseStepRequests = 10.0
        /// The first cruise step, doubled after every two steps without a 429 ...
        public var firstStep = 0.005
        /// ... up to this ...
        public var maximumStep = 0.16
        /// ... or this, within 20% of a measured budget.
        public var nearStep = 0.02
        /// Against a one-token bucket, 429s up to this share of the last second's answers are
        /// jitter (two requests that arrived closer than they were sent), not the budget: over
        /// it such a bucket refuses about every other request.
        public var jitterShare = 0.05
        /// ... from this pace up (1 / budget at most 20 ms apart, where a busy machine's jitter
        /// of a fraction of a millisecond counts); under it, a 429 over a pace sent cleanly is
        /// the budget, and one under it jitter.
        public var jitterPace = 50.0
        /// Under a cap, fewer answers than this, or than this many seconds' worth at the pace,
        /// tell no share: their 429s are jitter unless about half of them are 429s.
        public var jitterSample = 20
        public var jitterSampleSeconds = 1.0
        /// Under a cap, from this share of it up (the pace where the user's rate holds) ...
        public var nearCapShare = 0.9
        /// ... jitter over this share of the last four seconds' answers lowers the pace.
        public var cappedJitterTarget = 0.03
        /// Against a one-token bucket at a fast pace, the share of a cruise step's requests that
        /// jitter 429s may be; the excess lowers the pace (`jitterLargestStep`). (1.5%, with a
        /// step of 1% once a round trip over four seconds' answers, held the pace of a budget
        /// of 500 at 85-98% of it in a saw-tooth: 82.0-83.8% of it accepted in a minute, where
        /// this has 83.7-85.7%, with 1.9-2.1% 429s.)
        public var jitterTarget = 0.02
        /// Under a cap, or under ``jitterPace``, jitter beyond its share lowers the pace by this
        /// (once a round trip).
        public var jitterStep = 0.01
        /// Against a one-token bucket at a fast pace, a cruise step with jitter 429s over
        /// `jitterTarget` of its requests lowers the pace by the excess, at most this.
        public var jitterLargestStep = 0.03
        /// Against a one-token bucket whose budget is bracketed, the pace is held at this share
        /// of the pace that met the 429s.
        public var singleBurstHold = 0.985
        /// Against a one-token bucket, the start-up's first budget signal takes this share of
        /// the rate the refused request was sent at for the budget ...
        public var singleBurstStartShare = 0.96
        /// ... and a later one with no clean pace to go by this share of the pace.
        public var singleBurstStep = 0.9
        /// Against a one-token bucket from ``jitterPace`` up, the start-up doubles the pace every
        /// this many seconds (under it, every ``startupDoublingSeconds``): from the floor of 10
        /// req/s to 500 in about 1 s instead of 1.4 (on the real mock at 500 req/s, 1,280–1,390 of
        /// the first four seconds' requests accepted instead of 1,130–1,260; doubling this fast
        /// from the floor up, 1,450–1,540, but the grid's 25/1 rows then overshoot). Its first signal
        /// takes the rate the refused request was sent at, so a faster growth overshoots by no
        /// more than the round trip's requests.
        public var singleBurstDoublingSeconds = 0.125
        /// ... and the start-up's 429s each within this many seconds of the one before are one
        /// run: the signal takes the rate the first of them was sent at, ...
        public var refusedRunSeconds = 0.1
        /// ... but not less than this share of the one that ended the start-up.
        public var refusedRunFloor = 0.75
        /// Against a one-token bucket at a fast pace, within a second of a decrease, 429s up to
        /// this share of the answers to requests sent since are jitter (over the budget such a
        /// bucket refuses about every other request, and the pace is now a few percent under
        /// the one that met it). A few more than `jitterShare` come there: the first requests
        /// sent after a decrease arrive right behind the last ones sent before it, and four of
        /// the first 60 answers took the pace from 0.96 to 0.75 of the budget on the real mock
        /// (a second signal 0.1 s after the first forgets the clean pace).
        public var jitterShareAfterSignal = 0.25
        /// Under this pace a budget signal leaves no 429 in hand to tolerate.
        public var slowConsolePace = 20.0
        /// 429s up to this share of accepted requests are tolerated ...
        public var toleratedShare = 0.01
        /// ... and each lowers the pace by this share (0: not at all; the pace then stays
        /// where it is, at the edge, and the 429s beyond the tolerance measure the budget).
        public var toleratedNudge = 0.0
        /// A decrease is tested for noise only when the 429 share before it was between the
        /// tolerated share and this.
        public var noiseShareLimit = 0.2
        /// Answers watched after a decrease, at least ...
        public var noiseTestResponses = 20
        /// ... at this share of the pace before it.
        public var noiseTestShare = 0.8
        /// ... and at most this long, when it has `noiseTestResponses` and enough to expect
        /// five 429s if it is noise.
        public var noiseTestSeconds = 4.0
        /// A test needs this many of the last answers accepted before it (the share of 429s
        /// among the last 128 answers is what it compares with) ...
        public var noiseTestBefore = 30
        /// ... which are the last four seconds' answers when those hold at least this many
        /// accepted ones (else the last 128, at a slow pace).
        public var noiseWindowAccepted = 40
        /// Decreases tested for noise (more once noise is seen).
        public var noiseTests = 2

        public init() {}
    }

    private enum Phase: Sendable, Equatable {
        case startup
        /// Creeping up: the step, when the current step began (or begins, after a signal),
        /// and how many steps in a row saw no 429.
        case cruising(step: Double, since: Double, clean: Int)
    }

    /// What a decrease changed, to undo it when the 429s turn out to be noise.
    private struct NoiseTest: Sendable {
        package var phase: Phase
        package var pace: Double
        package var estimate: Double?
        package var lastSignal: Double?
        package var acceptedSinceSignal: Int
        package var pausedSinceSignal: Double
        package var shareBefore: Double
        /// The most the share before can have been, by chance (the 429s counted and three
        /// standard deviations, and two): what noise at the lower pace may show.
        package var upperBefore = 1.0
        /// The answers that share was taken over.
        package var responsesBefore = 0
        package var started: Double
        /// The pace to take when the test says budget.
        package var target: Double
        package var responses = 0
        package var limited = 0
    }

    public let tuning: Tuning
    /// The user's cap, requests per second; nil for none. Several workers sharing one cap
    /// each hold their share (``setCap(_:)``).
    public private(set) var cap: Double?
    /// The pace now, requests per second.
    public private(set) var pace: Double
    /// The console's budget as last measured (requests per second), or as learned on an
    /// earlier run; nil before either.
    public private(set) var estimate: Double?
    /// The last tight measurement of the budget (requests per second): what a later run
    /// should start from; nil when none was made.
    public private(set) var lastTightEstimate: Double?
    /// The share of 429s learned to be independent of the pace (0 when none seen).
    public private(set) var noiseShare = 0.0
    /// 429s seen, of every kind.
    public private(set) var limitedCount = 0
    /// 429s taken as budget signals (each lowered the pace and paused the client; the first
    /// of an unpaced start set a pace and paused no one).
    public private(set) var budgetSignals = 0
    /// Decreases undone because the 429s turned out to be noise.
    public private(set) var undoneDecreases = 0

    private var phase: Phase = .startup
    private var acceptedTotal = 0
    /// True while requests are not spaced (``isUnpaced``).
    private var unpaced: Bool
    /// When the first 429 ended the unpaced start.
    private var unpacedEnd: Double?
    /// When the first request started; the latency of the last accepted answer.
    private var firstStart: Double?
    private var latency: Double?
    /// The unpaced round: its size, when it began, requests started in it and answered.
    private var roundSize: Double
    private var roundStart: Double?
    private var roundStarted = 0
    private var roundAnswered = 0
    /// When the pace last grew in start-up.
    private var lastGrowth: Double?
    /// Requests started before this were sent at a pace since lowered (by a signal) ...
    private var lastDecrease = -Double.infinity
    /// ... or nudged down (by a tolerated 429).
    private var lastNudge = -Double.infinity
    /// The last budget signal; what was accepted and how long the client was paused since.
    private var lastSignal: Double?
    private var acceptedSinceSignal = 0
    private var pausedSinceSignal = 0.0
    /// A tolerated 429 since the last pause or decrease: when, `acceptedTotal` and
    /// `startedTotal` then, and the pace.
    private var anchor: (time: Double, accepted: Int, started: Int, pace: Double)?
    private var startedTotal = 0
    /// 429s let pass after the credit ran out, to let a tight measurement span long enough.
    private var deferred = 0
    /// 429s that were not noise, and their count when the current cruise step began.
    private var edgeCount = 0
    private var edgeAtStep = 0
    /// 429s taken for jitter against a one-token bucket, and their count when the current
    /// cruise step began.
    private var jitterCount = 0
    private var jitterAtStep = 0
    /// Against a one-token bucket in start-up: when requests started lately, each with the
    /// pace then.
    private var startTimes = RecentTimes(capacity: 64)
    /// Against a one-token bucket in start-up: the rate the first of the latest run of 429s was
    /// sent at, and when the last of them came (``refusedRunStartRate(of:at:)``).
    private var refusedRun: (rate: Double, last: Double)?
    /// Answers, and 429s, to requests started since the last decrease.
    private var answersSinceDecrease = 0
    private var limitedSinceDecrease = 0
    /// When the current cruise step began and `startedTotal` then: the rate sent in it.
    private var stepMark: (time: Double, started: Int)?
    /// The fastest pace a whole cruise step was sent at without a 429 (a lower bound of the
    /// budget), unless a 429 came at or below it since.
    public private(set) var cleanPace: Double?
    /// True when the first 429 of an unpaced start came with at most one request accepted:
    /// the console's bucket holds one token (a request at a time, at least `1 / budget`
    /// apart), and a clean pace is the best lower bound of the budget.
    public private(set) var singleBurst = false
    /// Against a one-token bucket at ``Tuning/jitterPace`` and over, the share of 429s decides,
    /// not each one (5. in the type's comment).
    private var jitterDecides: Bool { singleBurst && pace >= tuning.jitterPace }
    /// A hold under a lower bound of the budget ends early, at this time.
    private var holdUntil: Double?
    /// How many requests the console accepted at once: what the unpaced start had accepted at
    /// its first 429, less a budget's worth of its span (the budget measured since); nil
    /// before both.
    private var unpacedBurst: Double? {
        guard let unpacedCount, let estimate else { return nil }
        return Double(unpacedCount.accepted) - estimate * unpacedCount.seconds
    }
    private var unpacedCount: (accepted: Int, seconds: Double)?
    /// Requests of the unpaced start answered 429 (the first included).
    private var refusedAtUnpacedEnd = 0
    /// When the request that got the first 429 started.
    private var firstRefusedStart = -Double.infinity
    /// When the request that got the latest 429 started.
    private var lastRefusedStart = -Double.infinity
    /// Accepted requests started after the one that got the first 429 (answered after it).
    private var acceptedAfterFirstRefused = 0
    /// Accepted requests started since the unpaced start ended.
    private var acceptedStartedSinceUnpaced = 0
    /// Accepted answers, and time paused, since the unpaced start ended.
    private var acceptedSinceUnpaced = 0
    private var pausedSinceUnpaced = 0.0
    /// The lowest pace set since the unpaced start ended.
    private var slowestSinceUnpaced = Double.infinity
    /// True from the end of an unpaced start until a decrease reaches its measurement: the
    /// pace is still the guess the unpaced start's burst gave.
    private var guessedPace = false
    /// The pace the last budget signal came at.
    private var overshootPace = 0.0
    /// The lowest pace set since the last budget signal.
    private var slowestSinceSignal = 0.0
    /// Whether `estimate` came from a tight measurement (and when), or from a rough one
    /// (mostly a pause, or a guess at the end of start-up).
    private var tight = false
    private var measuredAt: Double?
    private var rough = false
    private var test: NoiseTest?
    private var testsLeft: Int
    /// Tolerated 429s in hand (earned per accepted request, at most one).
    private var credit = 0.0
    private var window = RateWindow()
    private var outcomes = RecentOutcomes()
    private var acceptedTimes = RecentTimes()

    /// A controller capped at `cap` (nil for none), resuming from a `learned` budget when
    /// there is one.
    public init(cap: Double?, learned: Double? = nil, tuning: Tuning = Tuning()) {
        self.tuning = tuning
        self.cap = cap.map { max($0, tuning.minimumPace) }
        self.testsLeft = tuning.noiseTests
        self.roundSize = max(1, tuning.startupWindow)
        let learnedSome = learned.map { $0.isFinite && $0 > 0 } ?? false
        self.unpaced = tuning.unpacedStart && cap == nil && !learnedSome
        // With a cap, start at it (the user knows the console's budget, or wants less);
        // else just below the budget learned before, else at `initialPace`.
        var start = self.cap ?? tuning.initialPace
        if let learned, learned.isFinite, learned > 0, learned * tuning.resumeShare < start || self.cap == nil {
            start = max(tuning.minimumPace, learned * tuning.resumeShare)
            // Held like a tight measurement, just under it, but only for `resumeHoldSeconds`
            // before probing (the budget may have grown since).
            estimate = learned
            tight = true
            measuredAt = tuning.resumeHoldSeconds - Self.holdLength(learned, tuning)
            phase = .cruising(step: tuning.firstStep, since: 0, clean: 0)
        }
        self.pace = start
    }

    /// Moves the cap (a worker's share of the user's `--rate` changed as workers came or
    /// went): a pace over the new cap falls to it at once; a pace pinned at the old cap
    /// follows it up.
    public mutating func setCap(_ value: Double) {
        let wasAtCap = isAtCap
        let next = max(value, tuning.minimumPace)
        cap = next
        if pace > next || wasAtCap { pace = next }
    }

    /// True when the pace is pinned at the user's cap.
    public var isAtCap: Bool { cap.map { pace >= $0 } ?? false }

    /// True while requests are not spaced at all: no cap, nothing learned, and no 429 yet.
    /// The concurrency and the start-up rounds (``startupWait(at:)``) are all that hold
    /// requests back; `pace` is then the rate accepted lately, for the record.
    public var isUnpaced: Bool { unpaced }

    /// While unpaced: how long a request that would start at `now` waits before it asks
    /// again (zero: it may start). Requests go in rounds of doubling size, each once the
    /// one before was answered (TCP's slow start): a console without a budget has the
    /// whole concurrency within a few round trips, and a slow one sees its first 429 while
    /// few requests are out.
    public func startupWait(at now: Double) -> Double {
        guard unpaced, let roundStart, Double(roundStarted) >= roundSize.rounded(.down) else { return 0 }
        let timeout = latency.map { max(0.05, tuning.startupRoundTimeout * $0) } ?? 1.0
        if roundAnswered >= roundStarted || now - roundStart >= timeout { return 0 }
        return min(0.05, max(0.0005, (latency ?? 0.02) / 8))
    }

    /// The pace to space requests by at `now`.
    public mutating func currentPace(at now: Double) -> Double {
        if unpaced { return pace }
        // A client held back by something else (its concurrency, its retries' waits) does
        // not let the pace run away from what it achieves.
        // (In start-up over the last second, or against a one-token bucket at a fast pace the
        // last two doublings: doubling every `singleBurstDoublingSeconds`, the pace is over
        // 2.5 times what a second averaged, and the headroom, not the doubling, would set the
        // growth.)
        let span = phase == .startup ? (jitterDecides ? 2 * tuning.singleBurstDoublingSeconds : 1.0) : 2.0
        if !isAtCap, test == nil, let rate = window.acceptedRate(at: now, span: span), rate > 0 {
            pace = min(pace, max(tuning.initialPace, rate * tuning.startupHeadroom, estimate ?? 0))
        }
        return pace
    }

    /// The request started at `startedAt` was answered at `now`, and not with a 429: any
    /// answer the console counted against the budget (2xx, 404, ...).
    public mutating func accepted(startedAt: Double, at now: Double) {
        acceptedTotal += 1
        if startedAt >= lastDecrease { answersSinceDecrease += 1 }
        acceptedSinceSignal += 1
        if let unpacedEnd, startedAt >= unpacedEnd { acceptedStartedSinceUnpaced += 1 }
        if unpacedEnd != nil { acceptedSinceUnpaced += 1 }
        if unpacedEnd != nil, startedAt > firstRefusedStart { acceptedAfterFirstRefused += 1 }
        credit = min(1, credit + tuning.toleratedShare)
        window.add(accepted: true, at: now)
        outcomes.add(limited: false)
        acceptedTimes.add(now)
        latency = max(0, now - startedAt)
        if unpaced {
            if let roundStart, startedAt >= roundStart { roundAnswered += 1 }
            // Not a limit: what was accepted lately, for the record.
            if let rate = window.acceptedRate(at: now, span: 1.0) {
                pace = max(tuning.minimumPace, min(tuning.maximumPace, rate))
            } else if let firstStart, now - firstStart > 0 {
                // A run shorter than the window: what it accepted since its first request.
                pace = max(tuning.minimumPace, min(tuning.maximumPace, Double(acceptedTotal) / (now - firstStart)))
            }
        }
        if var running = test, startedAt >= running.started {
            running.responses += 1
            test = running
            finishTestIfDue(at: now)
        }
        guard test == nil, !isAtCap, !unpaced else { return }
        switch phase {
        case .startup:
            guard startedAt >= lastDecrease else { break }
            let last = lastGrowth ?? now
            // (A slow pace doubles at least every `startupSlowDoublingSeconds`: ten requests
            // at 0.5/s would take 20 s.)
            let elapsed = max(0, now - last)
            let perRequest = max(ln2 / tuning.startupDoublingRequests, min(ln2, ln2 / tuning.startupSlowDoublingSeconds * elapsed))
            var growth = min(perRequest, ln2 / tuning.startupDoublingSeconds * elapsed)
            // (A one-token bucket has no burst for an overshoot to empty, and over its budget
            // it refuses every other request at once: the pace doubles by time alone, from
            // the floor up. Its first 429 is then met at a pace just over the budget, and
            // the pace the refused request was sent at measures it: `refusedStartRate(of:)`.)
            if singleBurst {
                let doubling = jitterDecides ? tuning.singleBurstDoublingSeconds : tuning.startupDoublingSeconds
                growth = min(ln2, ln2 / doubling * elapsed)
            }
            raise(to: pace * exp(growth))
            lastGrowth = now
        case .cruising(let step, let since, let clean):
            guard now - since >= max(tuning.cruiseStepSeconds, tuning.cruiseStepRequests / pace) else { break }
            // (Against a one-token bucket a step with a 429 or two of jitter, within
            // `jitterTarget` of its requests, is clean too: jitter says nothing of the budget.)
            let jitterInStep = Double(jitterCount - jitterAtStep)
            let stepRequests = Double(startedTotal - (stepMark?.started ?? startedTotal))
            let jittery = jitterInStep > max(1, tuning.jitterTarget * stepRequests)
            if edgeCount == edgeAtStep, !jittery {
                // A whole step without a 429, at the rate it was sent at: the budget is at
                // least that (with a burst of 1, where a pace a hair over the budget has half
                // its requests refused and the accepted rate halves, this is what measures it).
                let sent = stepMark.flatMap { now - $0.time > 0 ? Double(startedTotal - $0.started) / (now - $0.time) : nil }
                if let sent, sent >= 0.9 * pace { cleanPace = max(cleanPace ?? 0, min(pace, sent)) }
                // A clean step (noise aside). Near a tight measurement of the budget the pace
                // creeps (a plateau, as CUBIC's near its last maximum); elsewhere the steps
                // double after every two clean ones, to catch up or to find a budget that grew
                // (by at most 2% a step within 30% of the measurement, so an overshoot costs
                // few 429s: the first is tolerated and anchors a tight measurement).
                let measured = estimate ?? 0
                let plateau = tight && pace >= measured * 0.99 && pace <= measured * 1.05
                let doubled = !plateau && clean + 1 >= 2
                // (After a rough measurement of a one-token bucket, which answers 429 as soon as the
                // pace is over the budget, big steps up to near the pace that met the 429.
                // Near it, small ones: the last clean step is where the pace is held.)
                let largest: Double
                if singleBurst, overshootPace > 0 {
                    largest = pace < overshootPace * 0.8 ? tuning.maximumStep : tuning.nearStep
                } else {
                    largest = estimate != nil && pace < measured * 1.3 ? tuning.nearStep : tuning.maximumStep
                }
                let next = plateau ? tuning.firstStep : doubled ? min(step * 2, largest) : min(step, largest)
                phase = .cruising(step: next, since: now, clean: doubled ? 0 : clean + 1)
                var target = pace * (1 + next)
                // Catching up stops short of the measurement, then creeps over it, but not
                // for `holdSeconds` after a tight one: that was the budget, exactly.
                if !rough, pace < measured * 0.99 { target = min(target, measured * 0.995) }
                if tight, let measuredAt, now - measuredAt < Self.holdLength(measured, tuning), now < holdUntil ?? .infinity {
                    // (Against a one-token bucket the clean pace is a lower bound of what its
                    // jitter allows and the pace that met the 429s an upper one: held between,
                    // a little under the upper, where 429s are rare and the jitter step
                    // keeps them so.)
                    var ceiling = measured * 0.995
                    if jitterDecides, overshootPace * tuning.bracketShare <= measured {
                        ceiling = max(ceiling, overshootPace * tuning.singleBurstHold)
                    }
                    target = min(target, ceiling)
                }
                // A step clean because the client sent far less than the pace (held back by
                // its concurrency) says nothing of the budget over what it sent: the pace grows
                // no further than `cruiseHeadroom` times that, and so still spaces the requests.
                if let sent { target = min(target, max(pace, sent * tuning.cruiseHeadroom)) }
                raise(to: target)
            } else {
                phase = .cruising(step: tuning.firstStep, since: now, clean: 0)
                // (Not after a step with more jitter than its share: the pace is at its edge.)
                if !jittery {
                    raise(to: pace * (1 + tuning.firstStep))
                } else if jitterDecides {
                    // Against a one-token bucket at a fast pace, a step with more jitter 429s
                    // than `jitterTarget` of its requests lowers the pace in proportion to the
                    // excess (at most `jitterLargestStep`): the pace settles where the share
                    // of 429s is the target, a step's worth of answers after the fact.
                    let excess = jitterInStep / stepRequests - tuning.jitterTarget
                    pace = max(tuning.minimumPace, pace * (1 - min(tuning.jitterLargestStep, excess)))
                    noteSlowerPace()
                }
            }
            edgeAtStep = edgeCount
            jitterAtStep = jitterCount
            stepMark = (now, startedTotal)
        }
    }

    /// A request started (at the pace given by ``currentPace(at:)``), at `now` when known.
    public mutating func started(at now: Double? = nil) {
        startedTotal += 1
        guard let now else { return }
        if firstStart == nil { firstStart = now }
        if singleBurst, phase == .startup, !unpaced { startTimes.add(now, value: pace) }
        guard unpaced else { return }
        if roundStart == nil || Double(roundStarted) >= roundSize.rounded(.down) {
            if roundStart != nil {
                // (Sent before this one: `startedTotal - 1`.)
                roundSize = Self.nextRound(after: roundSize, sent: Double(startedTotal - 1), tuning)
            }
            roundStart = now
            roundStarted = 0
            roundAnswered = 0
        }
        roundStarted += 1
    }

    /// The client was paused (on a `Retry-After`) for `seconds`.
    public mutating func paused(seconds: Double) {
        guard seconds > 0 else { return }
        anchor = nil
        pausedSinceSignal += seconds
        if unpacedEnd != nil { pausedSinceUnpaced += seconds }
        window.pause(seconds)
    }

    /// The request started at `startedAt` was answered 429 at `now`.
    public mutating func limited(startedAt: Double, at now: Double) -> Verdict {
        limitedCount += 1
        if startedAt >= lastDecrease { answersSinceDecrease += 1; limitedSinceDecrease += 1 }
        if unpaced { firstRefusedStart = startedAt }
        lastRefusedStart = startedAt
        window.add(accepted: false, at: now)
        outcomes.add(limited: true)
        if unpaced, let roundStart, startedAt >= roundStart { roundAnswered += 1 }
        if var running = test, startedAt >= running.started {
            running.responses += 1
            running.limited += 1
            test = running
            // More 429s at the lower pace than before it: still over a budget, not noise.
            // (Clearly more: at least four, and over twice the share before and then some; a
            // couple early on is what noise does too.)
            if running.limited >= 4,
               Double(running.limited) / Double(running.responses) > running.upperBefore + 2 / Double(running.responses) {
                pace = running.target
                test = nil
                return decrease(at: now)
            }
            switch finishTestIfDue(at: now) {
            case .noise?, nil: return .noise  // noise, or still watching: this request waits, the client does not
            default: break  // a budget after all: judge this 429 as any other
            }
        }
        if startedAt < lastDecrease {
            guard lastDecrease == unpacedEnd else { return .sameOvershoot }
            refusedAtUnpacedEnd += 1
            if refusedAtUnpacedEnd == 2, let unpacedCount, unpacedCount.accepted >= tuning.unpacedFewRequests,
               unpacedCount.accepted < tuning.unpacedBurstRequests,
               abs(startedAt - firstRefusedStart) <= max(tuning.sameRoundSeconds, (latency ?? 0) / 4) {
                // A second request of the unpaced start refused as well, sent with the first (in
                // the same round, at once): the bucket was empty for both, not one unlucky
                // answer (random 429s rarely hit two requests sent together), and what it accepted (fewer than a deep
                // burst and then some) may have been its burst, not its rate: over a second,
                // as fewer than `unpacedFewRequests` are (20 in a fifth of a second reads
                // 80/s at a budget of 5, whose next 429s, each with a round trip of requests
                // behind it, would cost a tenth of a minute's requests).
                let slower = Double(unpacedCount.accepted) / max(unpacedCount.seconds, tuning.unpacedMinimumSpan)
                let floor = min(Double(unpacedCount.accepted) / max(unpacedCount.seconds, 1e-3), tuning.unpacedFloor)
                pace = min(pace, max(tuning.minimumPace, max(slower, floor) * tuning.backoff))
                noteSlowerPace()
            }
            return .firstLimit
        }
        if noiseShare > 0 {
            // Only clearly more than the noise is a budget signal: twice its share and then
            // some. And with noise about, every signal is tested again.
            let (responses, limited) = window.counts(at: now, buckets: 16)
            let expected = noiseShare * Double(responses)
            if Double(limited) <= 2 * expected + 3 * expected.squareRoot() + 2 { return .noise }
            testsLeft = max(testsLeft, 1)
        }
        if jitterDecides {
            let startRate = refusedRunStartRate(of: startedAt, at: now)
            // Against a one-token bucket at a fast pace, a pace a hair over the budget has about
            // every other request refused: the share of 429s in the last second tells it. Under it,
            // 429s come only from jitter (a late request, then one on time, arrive closer than
            // `1 / budget`), rarer the lower the pace: a few are the price of a pace near the
            // budget: the cruise step they fall in lowers the pace by their excess over
            // `jitterTarget`, at its end. Not a budget signal, and no pause: the bucket has no
            // burst to wait out.
            if isRare(at: now) {
                jitterCount += 1
                return .noise
            }
            // (Over the budget: a signal at once. No 429 is tolerated to anchor a tight
            // measurement, which over a one-token bucket reads about half the budget.)
            edgeCount += 1
            return decrease(at: now, refusedStartRate: startRate)
        }
        let sample = max(tuning.jitterSample, Int(pace * tuning.jitterSampleSeconds))
        if let cap, pace >= tuning.nearCapShare * cap, pace >= tuning.jitterPace, isRare(at: now, seconds: 4, sample: sample) {
            // Under a cap nothing says the bucket holds one token (there is no unpaced start to
            // tell it), yet against one a pace under the budget meets jitter 429s just the same:
            // at the cap, a few are no budget (over it, such a bucket refuses about every other
            // request, and one with a burst a steady share), so they pause no one but their
            // request; the pace steps down for room (once a round trip) only over
            // `cappedJitterTarget` of the last four seconds' answers: the user's rate comes
            // first (at 450 req/s against 500, steps at 1.5% held the pace at 350–390; none at
            // all let 429s reach 6–7% of requests). Counted over four seconds, not one: the
            // real mock at 95 req/s against 100 met six in a second two seconds into a run
            // (connections still opening), then one or two a second. And
            // while too few answers tell a share, about half must be 429s: the first requests
            // of a run, each on a new connection, arrive bunched, and two 429s of the first five
            // halved the cap (12 s to grow back). Once a signal has moved the pace well under the
            // cap (the cap was over the budget), the budget is found as without one.
            jitterCount += 1
            let (responses, limited) = window.counts(at: now, buckets: 16)
            if responses >= sample, Double(limited) > tuning.cappedJitterTarget * Double(responses) + 1 {
                nudge(by: tuning.jitterStep, startedAt: startedAt, at: now)
            }
            return .noise
        }
        edgeCount += 1
        if singleBurst, phase != .startup, let clean = cleanPace, pace <= clean * 1.001 {
            // At a slower pace, a 429 at a pace already sent cleanly is jitter just the same, but
            // one over it is the budget: the pace steps down a little (once a round trip) for
            // room, and the step does not count as clean; only many of them (over `jitterShare`
            // of the answers lately) say the budget fell.
            let (responses, limited) = window.counts(at: now, buckets: 16)
            if Double(limited) <= tuning.jitterShare * Double(responses) + 1 {
                nudge(by: tuning.jitterStep, startedAt: startedAt, at: now)
                return .noise
            }
        }
        // (Not on a slow console, where each 429 weighs more than a tight measurement is worth,
        // and the one that would complete it comes seconds later: there the first 429 of an
        // overshoot is the signal, measured over the long span since the last.)
        if phase != .startup, credit >= 1, pace >= tuning.slowConsolePace {
            // Tolerated: the pace is at the edge. Remember when the bucket was empty, for a
            // tight measurement (and nudge the pace down once per overshoot, if tuned to).
            credit -= 1
            if anchor == nil { anchor = (now, acceptedTotal, startedTotal, pace) }
            if tuning.toleratedNudge > 0 { nudge(by: tuning.toleratedNudge, startedAt: startedAt, at: now) }
            return .noise
        }
        // (Not for a slow console, where each 429 weighs more than the measurement is worth.)
        if phase != .startup, let anchor, Double(deferred) < min(Double(tuning.deferredLimit), pace / 20),
           now - anchor.time < tuning.minimumTightSeconds || acceptedTotal - anchor.accepted < tuning.minimumTightRequests {
            // Over the edge since the anchor: a few more 429s buy a tight measurement.
            deferred += 1
            return .noise
        }
        return decrease(at: now, refusedStartRate: refusedStartRate(of: startedAt))
    }

    // MARK: Internals

    /// Against a one-token bucket at a fast pace in start-up, the rate to measure the budget by
    /// when the request started at `startedAt` was refused at `now`: the rate the first of the
    /// latest run of 429s was sent at (each within ``Tuning/refusedRunSeconds`` of the one
    /// before), not less than ``Tuning/refusedRunFloor`` of this one's. The pace grows while
    /// the first 429s over the budget are still taken for jitter (a few in the last second's
    /// answers): the one that ends the start-up was sent a doubling's part faster than the
    /// budget (on the real mock, 1.1–1.16 times the budget at 500 req/s), the first of them
    /// just over it. Called for every such 429, to follow the runs. Nil where
    /// ``refusedStartRate(of:)`` is.
    private mutating func refusedRunStartRate(of startedAt: Double, at now: Double) -> Double? {
        guard let rate = refusedStartRate(of: startedAt) else { return nil }
        let first = refusedRun.flatMap { now - $0.last <= tuning.refusedRunSeconds ? $0.rate : nil } ?? rate
        refusedRun = (first, now)
        return max(min(rate, first), tuning.refusedRunFloor * rate)
    }

    /// Against a one-token bucket in start-up, the rate the request started at `startedAt`
    /// (refused) was sent at: the pace it started at, from ``Tuning/jitterPace`` up (a late
    /// start among the few before it, 2 ms apart at 500/s, would read a rate a fifth low), and
    /// under it the gap before it (the pace doubling every quarter second grows a tenth or
    /// more between two starts there, and the rate of the four gaps before read a fifth low).
    /// Nil anywhere else (another bucket, or past the start-up).
    private func refusedStartRate(of startedAt: Double) -> Double? {
        guard singleBurst, phase == .startup else { return nil }
        return pace >= tuning.jitterPace ? startTimes.value(of: startedAt) : startTimes.rate(of: startedAt, gaps: 1)
    }

    /// Whether what a pause of `seconds` refilled at `budget` fits in the bucket (its depth, as
    /// the unpaced start measured it): then it was spent after the pause and counted, not lost
    /// to a full bucket.
    private func refillFits(pausedFor seconds: Double, at budget: Double) -> Bool {
        unpacedBurst.map { $0 >= budget * seconds } ?? false
    }

    /// The size of the unpaced start's next round, after one of `size` with `sent` requests
    /// sent before it: half as many again while small, the one that would pass
    /// ``Tuning/startupDeepBurst`` cut to end there, the one after it small again.
    package static func nextRound(after size: Double, sent: Double, _ tuning: Tuning) -> Double {
        let small = size < tuning.startupSmallRound && sent < tuning.startupDeepBurst
        let next = min(size * (small ? tuning.startupSmallGrowth : tuning.startupWindowGrowth), 1e9)
        if sent < tuning.startupDeepBurst, sent + next > tuning.startupDeepBurst {
            return max(1, tuning.startupDeepBurst - sent)
        }
        if sent == tuning.startupDeepBurst.rounded(.down) { return min(next, tuning.startupAfterDeepBurst) }
        return next
    }

    /// True when 429s are at most ``Tuning/jitterShare`` of the answers of the last `seconds`
    /// (1 to 4; within as long of a decrease, of the answers to requests sent since: the
    /// window still holds the overshoot's 429s); of fewer than `sample` answers, at most half.
    private mutating func isRare(at now: Double, seconds: Int = 1, sample: Int = 0) -> Bool {
        var (answers, limited) = window.counts(at: now, buckets: 4 * seconds)
        var share = tuning.jitterShare
        if now - lastDecrease < Double(seconds) {
            (answers, limited) = (answersSinceDecrease, limitedSinceDecrease)
            // (Against a one-token bucket at a fast pace, the answers to the first requests sent
            // after a decrease, which arrive right behind the overshoot's last ones: see
            // `Tuning/jitterShareAfterSignal`.)
            if jitterDecides, phase != .startup { share = tuning.jitterShareAfterSignal }
        }
        // (Fewer than `sample`: rare unless about every other one, which is a bucket far over.)
        if answers < sample { share = 0.5 }
        return Double(limited) <= share * Double(answers) + 1
    }

    /// The pace was lowered at `now` by a signal: 429s for requests started before belong to
    /// it, and what counts from the last decrease starts again.
    private mutating func markDecrease(at now: Double) {
        lastDecrease = now
        answersSinceDecrease = 0
        limitedSinceDecrease = 0
        lastNudge = now
        anchor = nil
        deferred = 0
    }

    /// Lowers the pace by `share`, once a round trip (for a 429 to a request started after the
    /// last nudge or decrease): true when it did.
    @discardableResult
    private mutating func nudge(by share: Double, startedAt: Double, at now: Double) -> Bool {
        guard startedAt >= lastNudge else { return false }
        lastNudge = now
        pace = max(tuning.minimumPace, pace * (1 - share))
        return true
    }

    /// The pace was lowered without a signal: the slowest since the last signal and since the
    /// unpaced start include it.
    private mutating func noteSlowerPace() {
        slowestSinceSignal = min(slowestSinceSignal, pace)
        slowestSinceUnpaced = min(slowestSinceUnpaced, pace)
    }

    private mutating func raise(to next: Double) {
        var value = min(next, tuning.maximumPace)
        if let cap { value = min(value, cap) }
        pace = max(pace, value)
    }

    /// A budget signal at `now`; `refusedStartRate`: against a one-token bucket in start-up, the
    /// rate the refused request and the ones before it were sent at.
    private mutating func decrease(at now: Double, refusedStartRate: Double? = nil) -> Verdict {
        budgetSignals += 1
        if unpaced {
            // The first 429 of an unpaced start. The bucket, full at the first request, is
            // empty: what was accepted since is the budget's worth plus the burst, or less
            // when the 429 answered requests sent at once (a small burst). Over at least
            // `unpacedMinimumSpan`, that is a pace at or below the budget for a slow console,
            // and from there the pace grows as a start-up does until the next 429 measures.
            unpaced = false
            unpacedEnd = now
            guessedPace = true
            singleBurst = acceptedTotal <= 1
            let elapsed = now - (firstStart ?? now)
            unpacedCount = (acceptedTotal, elapsed)
            refusedAtUnpacedEnd = 1
            // With at most one accepted, the time to the first 429 is a round trip, which says
            // nothing of the budget (and a busy machine stretches it): the floor, not 1 / it.
            let sinceStart = acceptedTotal <= 1 ? tuning.unpacedFloor : Double(acceptedTotal) / max(elapsed, 1e-3)
            let span = acceptedTotal < tuning.unpacedFewRequests ? tuning.unpacedMinimumSpan : tuning.unpacedShortSpan
            let base = max(Double(acceptedTotal) / max(elapsed, span), min(sinceStart, tuning.unpacedFloor))
            pace = max(tuning.minimumPace, min(tuning.maximumPace, base * tuning.backoff))
            // The next signal measures from this one (the bucket was empty at both).
            lastSignal = now
            slowestSinceSignal = pace
            slowestSinceUnpaced = pace
            acceptedSinceSignal = 0
            pausedSinceSignal = 0
            phase = .startup
            lastGrowth = nil
            markDecrease(at: now)
            test = nil
            return .firstLimit
        }
        let (responses, limited) = window.counts(at: now)
        let share = responses > 0 ? Double(limited) / Double(responses) : 1
        // The best measurement: from a tolerated 429 to this one, with no pause and no
        // decrease in between: the bucket was empty at both ends and overdriven all along.
        var measured: Double?
        var deepDecrease = false
        let snapshotPhaseIsCruise = phase != .startup
        let wasTight = tight
        tight = false
        holdUntil = nil
        rough = false
        // (Only if the client kept its pace meanwhile: a client that stalled, short of CPU,
        // let the bucket overflow, and the measurement is then a lower bound.)
        if let anchor, now - anchor.time >= tuning.minimumTightSeconds, acceptedTotal - anchor.accepted >= tuning.minimumTightRequests,
           Double(startedTotal - anchor.started) >= 0.95 * anchor.pace * (now - anchor.time) {
            measured = Double(acceptedTotal - anchor.accepted) / (now - anchor.time)
            tight = true
            lastTightEstimate = measured
        } else if let anchor, now - anchor.time >= tuning.minimumTightSeconds, acceptedTotal - anchor.accepted >= tuning.minimumTightRequests {
            // A lower bound only; and no lower than most of a tight measurement made before.
            measured = max(Double(acceptedTotal - anchor.accepted) / (now - anchor.time), wasTight ? (estimate ?? 0) * 0.85 : 0)
            rough = true
        } else if let lastSignal {
            // Since the previous signal: empty to empty too, but the client may have been
            // slower than the budget for a while (a lower bound). Tokens a pause refilled are
            // either spent after it and counted (a bucket bigger than `budget × pause`) or
            // lost (a small one): with many accepted since, the pause's refill (a burst)
            // hardly counts, so it is left out; with few, it is kept in unless it is most of
            // the span, when the geometric middle of the two is taken.
            let span = now - lastSignal
            let unpaused = span - pausedSinceSignal
            let accepted = Double(acceptedSinceSignal)
            if acceptedSinceSignal >= tuning.pauseFreeSpanRequests, unpaused >= tuning.minimumSpanSeconds {
                measured = accepted / unpaused
            } else if span >= tuning.minimumSpanSeconds, acceptedSinceSignal >= tuning.minimumSpanRequests {
                // (Unless the bucket is deeper than what the pause refilled, by the unpaced
                // start's count less a budget's worth of its span: then the refill was spent
                // and counted, and the span counts whole.)
                let budgetGuess = estimate ?? pace
                rough = pausedSinceSignal > span * 0.25 && !refillFits(pausedFor: pausedSinceSignal, at: 0.8 * budgetGuess)
                measured = rough ? (accepted / span * accepted / max(unpaused, span * 0.1)).squareRoot() : accepted / span
                if rough, let unpacedCount {
                    // Better, with the bucket's depth known from the unpaced start (what it
                    // accepted beyond a budget's worth of its span, at the lowest budget this
                    // span allows): the pause refilled at most that, so the budget is what was
                    // accepted less the depth per unpaused second, or the whole span's rate when
                    // that is more (the pause refilled less than the depth).
                    // (Only when more than the depth was accepted: else the refill may not have
                    // been spent, and this says nothing the geometric middle does not.)
                    let lower = accepted / span
                    let depth = max(1, Double(unpacedCount.accepted) - lower * unpacedCount.seconds)
                    let unpausedSeconds = max(unpaused, span * 0.1)
                    if accepted > 2 * depth {
                        measured = max(lower, min(accepted / unpausedSeconds, (accepted - depth) / unpausedSeconds))
                    }
                }
            }
            // (Requests started since and answered: a round trip less.)
            let answeredSpan = span - (latency ?? 0)
            let refusedApart = lastRefusedStart - firstRefusedStart
            if lastSignal == unpacedEnd, span < tuning.minimumSpanSeconds, answeredSpan < 0.05, refusedApart >= 0.01, measured == nil {
                // Less than that: the bucket was empty for the request the first 429 answered
                // and for this one, started `refusedApart` later; what was accepted of the
                // requests started in between, and one more, over that time is a bound all the
                // same (a loose one).
                measured = Double(acceptedAfterFirstRefused + 1) / refusedApart
                rough = true
                deepDecrease = true
            } else if lastSignal == unpacedEnd, span < tuning.minimumSpanSeconds, answeredSpan >= 0.05 {
                // Soon after the first 429 of an unpaced start: the bucket was empty then and
                // is now, so what it accepted of the requests sent since is the budget's
                // worth; with so few, one more is the bound (none answered in a tenth of a
                // second: at most ten a second). Not the rate accepted lately, which is the
                // burst's. It may lower the pace to an eighth, not only to half.
                measured = Double(acceptedStartedSinceUnpaced + 1) / answeredSpan
                rough = true
                deepDecrease = true
            } else if phase == .startup, let recent = recentAcceptedRate(at: now) {
                // The end of the start-up that followed an unpaced one: the client was slower
                // than the budget for part of the span, and what it got accepted lately is
                // the better bound.
                measured = max(measured ?? 0, min(pace, recent))
                rough = true
            } else if let long = measured, !rough, !singleBurst, pausedSinceSignal <= 0.05 * span,
                      acceptedSinceSignal >= tuning.longSpanRequests, slowestSinceSignal >= 0.95 * long {
                // Many accepted since the last signal, hardly a pause, and the pace never far
                // under what was accepted: the bucket, empty at both signals, cannot have
                // filled in between (it would take a deficit of a whole burst), so this is the
                // budget within one request of `acceptedSinceSignal` (and at most the pause's
                // share low): as good as a tight measurement.
                tight = true
                lastTightEstimate = long
            }
        }
        if guessedPace, let unpacedEnd, let unpacedCount, lastSignal != unpacedEnd || now - unpacedEnd >= tuning.minimumSpanSeconds,
           now - unpacedEnd >= tuning.guessSpanSeconds, acceptedSinceUnpaced >= 2 {
            // While the pace is still the unpaced start's guess and was never under what this
            // measures, it has been over the budget all along, so the bucket, empty at the first 429, is empty again now and held no
            // more than it refilled in between: what it accepted since then, over all that
            // time, is the budget within one request (a longer span than since the last
            // signal, which at a deep burst and a low budget holds one or two answers). Unless
            // a pause refilled more than the bucket can hold (its depth: what the unpaced start
            // got accepted beyond this budget's worth of its span).
            let span = now - unpacedEnd
            let long = (Double(acceptedSinceUnpaced) + 0.5) / span
            let depth = Double(unpacedCount.accepted) - long * unpacedCount.seconds
            if long * pausedSinceUnpaced <= depth, slowestSinceUnpaced >= long {
                measured = long
                rough = true
                deepDecrease = true
            }
        }
        // Nothing accepted lately to go by (a cap far over the budget): halve.
        if measured == nil { rough = true }
        var base = measured ?? min(pace, recentAcceptedRate(at: now) ?? pace * tuning.maximumDecreaseFactor)
        if let sent = refusedStartRate.map({ $0 * tuning.singleBurstStartShare }), sent > base {
            // The start-up's first 429 from a one-token bucket: over its budget it refuses about
            // every other request, so the accepted rate reads about half of it, but the rate
            // the refused request was sent at (the pace growing) had just met it (less what
            // the pace grew over a gap or two, and jitter).
            base = sent
            measured = sent
            rough = false
        } else if jitterDecides, snapshotPhaseIsCruise, cleanPace == nil,
                  base < tuning.singleBurstStep * pace {
            // Nor, for the same reason, later: until a clean step bounds it from below, the
            // budget of a one-token bucket is taken a step under the pace that met the 429s
            // (not at a slower pace, where each 429 weighs more than the time it saves).
            base = tuning.singleBurstStep * pace
            measured = base
            rough = true
        }
        // A budget below a pace sent cleanly a moment ago, and well below this one, is a
        // misreading (a burst of 1: over the budget, every other request is refused and the
        // accepted rate halves): the budget lies between that pace and this one. (A deeper
        // bucket answers no 429 for a while over the budget, so near the pace it is not.)
        // A 429 at or below that pace, though, means the budget fell: it is forgotten.
        if let clean = cleanPace {
            if pace <= clean * 1.001 {
                cleanPace = nil
            } else if jitterDecides || base < clean && (singleBurst || base < 0.75 * pace) {
                base = max(base, clean)
                measured = base
                rough = false
                tight = true
                // Held just under it when the two are close (the budget is bracketed); else
                // it is only a lower bound, and the pace creeps up from it in small steps,
                // each clean one raising it, until they are.
                lastTightEstimate = base
                holdUntil = clean >= tuning.bracketShare * pace ? nil : now
            }
        }
        overshootPace = pace
        // A 429 at a pace already under the budget last measured is no sign of one (a token
        // bucket under its budget answers none): this decrease is tested for noise too.
        if let previous = estimate, pace <= previous, snapshotPhaseIsCruise { testsLeft = max(testsLeft, 1) }
        let snapshot = NoiseTest(phase: phase, pace: pace, estimate: estimate, lastSignal: lastSignal, acceptedSinceSignal: acceptedSinceSignal,
                                 pausedSinceSignal: pausedSinceSignal, shareBefore: share, started: now, target: 0)
        // Until a decrease has reached its measurement since the unpaced start ended, the pace
        // is a guess from what a burst let through (20 accepted in a quarter second reads
        // 80/s at a budget of 5): it may fall to an eighth, not only to half, so that a
        // deep burst at a low budget costs one overshoot, not one per halving.
        if guessedPace, measured != nil { deepDecrease = true }
        // Nor, for the same reason, when the pace was never under the measurement since the
        // last signal, hardly paused: the client was over the budget all along, the bucket
        // empty at both ends never refilled, and what was accepted is the budget. A longer
        // pause counts as none when what it refilled fits in the bucket (its depth as the
        // unpaced start measured it): spent after it, it was counted, and the span counts
        // whole. (Without `Retry-After` a budget of 5 with a bucket of 20 at 200 ms paused 0.38
        // s of 1.41, refilling 2 of its 20 tokens; held to a halving, the pace stayed over the
        // budget for two more 429s: 3.07% of the minute's requests.)
        if let measured, let lastSignal, !rough, phase != .startup, slowestSinceSignal >= measured,
           pausedSinceSignal <= 0.05 * (now - lastSignal) || refillFits(pausedFor: pausedSinceSignal, at: measured),
           acceptedSinceSignal >= tuning.minimumSpanRequests {
            deepDecrease = true
        }
        let deepest = deepDecrease ? tuning.maximumDecreaseFactor * tuning.maximumDecreaseFactor * tuning.maximumDecreaseFactor : tuning.maximumDecreaseFactor
        pace = max(tuning.minimumPace, min(pace * tuning.minimumDecreaseFactor, max(pace * deepest, base * tuning.backoff)))
        // (A measurement at the end of start-up is the pace itself: it proves nothing.)
        if snapshotPhaseIsCruise, pace <= base * tuning.backoff * 1.001 { guessedPace = false }
        estimate = base
        measuredAt = now
        lastSignal = now
        slowestSinceSignal = pace
        slowestSinceUnpaced = min(slowestSinceUnpaced, pace)
        acceptedSinceSignal = 0
        pausedSinceSignal = 0
        markDecrease(at: now)
        // (A slow console's 429s each weigh more than a tight measurement is worth: none
        // tolerated at once there.)
        credit = pace >= tuning.slowConsolePace ? 1 : 0
        // After a rough measurement, catch up in bigger steps from the start.
        // (A one-token bucket has no burst to wait out: at a fast pace its cruise resumes after
        // a step; at a slower one, where the next probe's 429s weigh more, after the settle.)
        let settle = jitterDecides ? tuning.cruiseStepSeconds : tuning.settleSeconds
        phase = .cruising(step: rough ? tuning.nearStep : tuning.firstStep, since: now + settle, clean: 0)
        edgeAtStep = edgeCount
        jitterAtStep = jitterCount
        stepMark = (now, startedTotal)
        // Only a decrease to below a measured budget can tell noise from a budget (after a
        // guess, the lower pace may still be over it, and its 429s go on).
        // Nor one held above the measurement (a decrease is at most a halving).
        // Nor the end of a start-up (the guess that follows an unpaced one included).
        if let measured, snapshot.phase != .startup, pace <= measured * tuning.backoff * 1.001 { startNoiseTest(snapshot, at: now) } else { test = nil }
        return .budget
    }

    /// The first few decreases are tested for noise (noise shows at once; a console that only
    /// ever limits by budget does not pay for the test forever): for a moment the pace goes
    /// well below the budget, where a token bucket answers no 429 at all. Only with enough
    /// answers in the last four seconds to compare shares (below about ten accepted requests
    /// a second, no test: a slow console's noise is taken for a budget), and only for a
    /// share above the tolerated one (below it, noise is tolerated anyway).
    private mutating func startNoiseTest(_ snapshot: NoiseTest, at now: Double) {
        test = nil
        // (The last four seconds, or at a slow pace, where they hold too few answers to tell a
        // share, the last answers by count: else a slow console's noise is taken for a
        // budget. Not against a one-token bucket, whose 429s at the edge are jitter, and
        // are told from a budget by `jitterShare`.)
        var (responses, limited) = window.counts(at: now, buckets: 16)
        if responses - limited < tuning.noiseWindowAccepted { (responses, limited) = outcomes.counts }
        guard testsLeft > 0, !singleBurst, responses - limited >= tuning.noiseTestBefore else { return }
        let share = Double(limited) / Double(responses)
        guard share > tuning.toleratedShare, share <= tuning.noiseShareLimit else { return }
        let testPace = max(tuning.minimumPace, min(pace * (tight ? 0.95 : 0.9), snapshot.pace * tuning.noiseTestShare))
        // (Nor at a pace still over a budget measured exactly before: its 429s would go on
        // and read as noise; the measurement just made may be a deep bucket's burst.
        // Nor over the measurement before this one: a deep bucket that crept over its budget
        // unseen gives a first measurement as high as the burst lets it.)
        if let exact = lastTightEstimate, testPace > exact * tuning.backoff { return }
        if let previous = snapshot.estimate, testPace > previous * tuning.backoff { return }
        testsLeft -= 1
        var running = snapshot
        running.shareBefore = share
        let count = Double(limited)
        running.upperBefore = (count + 3 * count.squareRoot() + 2) / Double(responses)
        running.responsesBefore = responses
        running.target = pace
        test = running
        pace = testPace
        noteSlowerPace()
    }

    /// Ends the noise test once enough answers came: 429s at about the share before the
    /// decrease mean it was noise, and the decrease is undone.
    @discardableResult
    private mutating func finishTestIfDue(at now: Double) -> Verdict? {
        guard let running = test else { return nil }
        // Enough answers to expect about eight 429s if it is noise (a token bucket under its
        // budget answers none), or `noiseTestSeconds` with at least `noiseTestResponses`.
        let needed = max(tuning.noiseTestResponses, min(15 * tuning.noiseTestResponses, Int((8 / max(running.shareBefore, 0.01)).rounded(.up))))
        // (None at all in `3 / share` answers is unlikely noise, 5%: a budget, found sooner.)
        let noneYet = running.limited == 0 && Double(running.responses) >= 3 / max(running.shareBefore, 0.01)
        // (After `noiseTestSeconds`, enough answers to expect five: fewer would often read
        // noise as a budget, whose next decreases, a pause each, cost a slow client most of
        // its rate.) Three 429s at the lower pace, where a token bucket under its budget
        // answers none, settle it at once, unless they are clearly more than before.
        let expected = Double(running.responses) * running.shareBefore
        let threeSeen = running.limited >= 3 && running.responses >= tuning.noiseTestResponses
        guard running.responses >= needed || noneYet || threeSeen
              || (running.responses >= tuning.noiseTestResponses && expected >= 5 && now - running.started >= tuning.noiseTestSeconds) else { return nil }
        test = nil
        let share = Double(running.limited) / Double(running.responses)
        // Noise: 429s at the lower pace (at least two; and, unless three settled it early, at
        // least 40% as often as before it), not clearly more than the share before can have
        // been. (A budget the lower pace is still over gives fewer: its share falls with
        // the pace.)
        guard running.limited >= 2, threeSeen || share >= 0.4 * running.shareBefore,
              share <= running.upperBefore + 2 / Double(running.responses),
              share <= tuning.noiseShareLimit else {
            // A budget: what 429s remain at the lower pace are all the noise there can be.
            if noiseShare > 0 { noiseShare = 0.5 * noiseShare + 0.5 * share }
            pace = max(pace, running.target)
            return .budget
        }
        // (The share over the answers before the test and in it together: the larger of the
        // two read 8% for 4% of random 429s.)
        let before = running.shareBefore * Double(running.responsesBefore)
        let learned = (before + Double(running.limited)) / Double(running.responsesBefore + running.responses)
        noiseShare = noiseShare == 0 ? learned : 0.7 * noiseShare + 0.3 * learned
        budgetSignals -= 1
        undoneDecreases += 1
        // The decreases before it may have been noise too: grow again as a start-up does
        // (doubling), from the pace before this one, until the next budget signal.
        phase = .startup
        pace = running.pace
        // What was measured before may have been noise too: measure afresh.
        estimate = nil
        tight = false
        lastSignal = running.lastSignal
        acceptedSinceSignal += running.acceptedSinceSignal
        pausedSinceSignal += running.pausedSinceSignal
        lastDecrease = -Double.infinity
        lastGrowth = now
        return .noise
    }

    /// How long the pace stays just under a tight measurement of `budget` before probing
    /// above it: ``Tuning/holdSeconds``, or ``Tuning/holdRequests`` at that budget when longer
    /// (at most ``Tuning/longestHoldSeconds``).
    private static func holdLength(_ budget: Double, _ tuning: Tuning) -> Double {
        max(tuning.holdSeconds, min(tuning.longestHoldSeconds, tuning.holdRequests / max(budget, tuning.minimumPace)))
    }

    /// Accepted answers per second over the last quarter second or dozen answers, whichever
    /// is longer.
    private func recentAcceptedRate(at now: Double) -> Double? {
        acceptedTimes.rate(at: now, minimumSeconds: 0.25, minimumCount: 12)
    }
}

private let ln2 = 0.693_147_180_559_945_3

/// The last 256 (or `capacity`) times something happened, for rates over the last moment.
package struct RecentTimes: Sendable {
    private var times: [Double]
    /// A number kept with each time (``value(of:)``).
    private var values: [Double]
    private var count = 0
    private var next = 0

    package init(capacity: Int = 256) {
        times = [Double](repeating: 0, count: capacity)
        values = times
    }

    package mutating func add(_ time: Double, value: Double = 0) {
        times[next] = time
        values[next] = value
        next = (next + 1) % times.count
        count = min(count + 1, times.count)
    }

    /// Events per second over the newest ones spanning at least `minimumSeconds` and
    /// `minimumCount` events (nil with fewer than `minimumCount`).
    package func rate(at now: Double, minimumSeconds: Double, minimumCount: Int) -> Double? {
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

    /// The rate of the event at `time` (within a microsecond: it went through the clock's
    /// nanoseconds) and the `gaps` before it: nil when it is not among them, or they are not.
    package func rate(of time: Double, gaps: Int) -> Double? {
        guard count > gaps, let index = index(of: time, newest: count - gaps) else { return nil }
        let earlier = times[(index - gaps + times.count) % times.count]
        return time > earlier ? Double(gaps) / (time - earlier) : nil
    }

    /// The value added with the event at `time` (within a microsecond), nil when it is not
    /// held.
    package func value(of time: Double) -> Double? {
        guard count > 0 else { return nil }
        return index(of: time, newest: count).map { values[$0] }
    }

    /// Where the event at `time` is, among the `newest` held.
    private func index(of time: Double, newest: Int) -> Int? {
        for offset in 1...newest {
            let index = (next - offset + times.count) % times.count
            if abs(times[index] - time) <= 1e-6 { return index }
            if times[index] < time { return nil }
        }
        return nil
    }
}

/// Whether each of the last 128 answers was a 429.
package struct RecentOutcomes: Sendable {
    private var limited = [Bool](repeating: false, count: 128)
    private var count = 0
    private var next = 0
    private var limitedCount = 0

    package mutating func add(limited isLimited: Bool) {
        if count == limited.count, limited[next] { limitedCount -= 1 }
        limited[next] = isLimited
        if isLimited { limitedCount += 1 }
        next = (next + 1) % limited.count
        count = min(count + 1, limited.count)
    }

    /// Answers held (at most 128) and how many of them were 429s.
    package var counts: (responses: Int, limited: Int) { (count, limitedCount) }
}

package struct RateWindow: Sendable {
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

    package mutating func add(accepted isAccepted: Bool, at now: Double) {
        let slot = advance(to: now)
        if isAccepted { accepted[slot] += 1 } else { limited[slot] += 1 }
    }

    package mutating func pause(_ seconds: Double) {
        guard first != nil else { return }
        paused[newest] += seconds
    }

    /// Responses and 429s in the last `rateWindowSeconds`-ish (8 buckets).
    package mutating func counts(at now: Double, buckets: Int = 8) -> (responses: Int, limited: Int) {
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
    package mutating func acceptedRate(at now: Double, span: Double) -> Double? {
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
        package let generation: Int
    }

    public private(set) var controller: PaceController
    private var nextSlot = -Double.infinity
    private var lastBegun = -Double.infinity
    private var generation = 0
    private var reservedPace = Double.infinity
    public private(set) var pausedUntil = -Double.infinity
    /// How late requests usually begin (a moving average): late by as much, they are still
    /// `1 / pace` apart.
    private var usualLateness = 0.0

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
        if controller.isUnpaced {
            // No spacing: now, unless the start-up round is full (then look again soon).
            let start = max(now, pausedUntil)
            return Reservation(start: start + controller.startupWait(at: start), generation: generation)
        }
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
        guard reservation.generation == generation, controller.startupWait(at: now) <= 0 else { return false }
        lastBegun = max(lastBegun, reservation.start)
        if !controller.isUnpaced, reservedPace.isFinite {
            let late = max(0, now - reservation.start)
            // Against a one-token bucket two requests must arrive `1 / budget` apart: one that
            // begins later than usual (a busy machine) moves the ones reserved after it, or the
            // next, on time, would arrive too close behind it. Under a cap too, where nothing
            // tells such a bucket (scripts/bench-jitter.sh, --rate 470 on a 2-core machine:
            // without it 5% of the gaps between arrivals were under 0.88 / pace, and a
            // one-token bucket 6% over the pace would refuse 20% of the requests; with it,
            // 2.2%). And against any other bucket: after a stall the requests reserved during
            // it would all begin at once, more than a shallow bucket holds (s1ingest on one
            // vCPU at 500 req/s stalled 18 ms every 4 s; each time nine requests left together,
            // five met a full bucket of five, and every other time that was a budget signal
            // and a second's pause: 9 in a minute, 83.5% of the budget accepted). There only a
            // stall counts, two requests' time or more: a deeper bucket takes a few together,
            // and moving the schedule at every start a little late would slow the pace by the
            // machine's jitter (500 req/s, burst 5: 92.0% of the budget instead of 93.0%).
            let slack = controller.singleBurst || controller.cap != nil ? 0.02 : 2.0
            if late - usualLateness > slack / reservedPace {
                lastBegun = now - usualLateness
                renew(pace: reservedPace)
            }
            usualLateness += 0.05 * (min(late, 1 / reservedPace) - usualLateness)
        }
        // (At the reserved start: the time its answer will say it started at.)
        controller.started(at: reservation.start)
        return true
    }

    /// Whether `reservation` still holds (no pace change or pause voided it).
    public func isCurrent(_ reservation: Reservation) -> Bool {
        reservation.generation == generation
    }

    /// ``reserve(at:)`` and ``begin(_:at:)`` in one, for a caller that does not wait
    /// (tests): the start to use.
    public mutating func nextStart(at now: Double) -> Double {
        let reservation = reserve(at: now)
        lastBegun = max(lastBegun, reservation.start)
        controller.started(at: reservation.start)
        return reservation.start
    }

    public mutating func accepted(startedAt: Double, at now: Double) {
        controller.accepted(startedAt: startedAt, at: now)
    }

    /// Moves the controller's cap (``PaceController/setCap(_:)``); reservations made at the
    /// old pace are made again at the new one.
    public mutating func setCap(_ value: Double) {
        let before = controller.pace
        controller.setCap(value)
        if controller.pace != before {
            renew(pace: controller.pace)
            reservedPace = controller.pace
        }
    }

    /// A 429 at `now` for the request started at `startedAt`: the controller's verdict, and
    /// for anything but noise a pause of every request for `pause` seconds from now (except
    /// against a one-token bucket, ``PaceController/singleBurst``).
    @discardableResult
    public mutating func limited(startedAt: Double, pause: Double, at now: Double) -> PaceController.Verdict {
        let before = controller.pace
        let wasUnpaced = controller.isUnpaced
        let verdict = controller.limited(startedAt: startedAt, at: now)
        var changed = controller.pace < before || wasUnpaced != controller.isUnpaced
        // (Against a one-token bucket neither: it holds no burst to wait out, its token is back
        // within 1 / budget, and the pace is already under the budget; only the request that
        // got the 429 waits for its Retry-After, as the fetcher's retry does anyway.)
        if verdict != .noise, verdict != .firstLimit, !controller.singleBurst {
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
