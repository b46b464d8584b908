import Testing
@testable import S1IngestCore
import S1Testing

/// The pacing controller against a simulated console, on a simulated clock: `concurrency`
/// workers each reserve a start from the schedule, wait for it, send (arriving after half
/// the latency, plus a little jitter), and get the answer after the other half. The console
/// enforces a token bucket (`budget` per second, `burst` deep) and/or answers 429 at random.
/// A 429'd ID is retried after `Retry-After` (or the fetcher's jittered back-off) while its
/// worker goes on with the next, as `AnalysisFetcher` does with the run's deferred fetches. Deterministic: a seeded generator, and ties broken by order.
struct SimulatedRun {
    struct Scenario {
        var budget: Double?
        var burst: Double = 5
        var retryAfter: Double? = 1
        var latency = 0.05
        var concurrency = 16
        var randomShare = 0.0
        var seconds = 60.0
        var cap: Double?
        var learned: Double?
        var jitter = 0.0005
        /// A busy machine, as the real mock console on two cores shows it: this share of
        /// requests begins late, by up to `lateBy` seconds (the client's own scheduling), and
        /// this share arrives later still, by up to `tailBy` (the console's busy event loop).
        var lateShare = 0.0
        var lateBy = 0.0
        var tailShare = 0.0
        var tailBy = 0.0
        /// A client that stalls (short of CPU) for `stallFor` seconds every `stallEvery`: the
        /// requests due meanwhile begin when it ends, together.
        var stallEvery = 0.0
        var stallFor = 0.0
        var seed: UInt64 = 1
        /// As the ingest's fetcher does: a 429'd ID waits for its retry apart (deferred) and its
        /// worker takes the next one at once (false: the worker holds its slot for the wait).
        var defers = true
        /// Record every 429 (time, start, pace before and after, verdict) in `Outcome.trace`.
        var trace = false
        /// The controller's constants.
        var tuning = PaceController.Tuning()
    }

    struct Outcome {
        var accepted = 0
        var limited = 0
        var seconds = 60.0
        /// Most starts in any one-second window.
        var busiestSecond = 0
        var controller: PaceController
        /// With `Scenario.trace`: one line per 429.
        var trace: [String] = []

        var acceptedPerSecond: Double { Double(accepted) / seconds }
        var limitedShare: Double { Double(limited) / Double(max(1, accepted + limited)) }
    }

    static func run(_ scenario: Scenario) -> Outcome {
        var random = SplitMix(state: scenario.seed)
        var schedule = PacingSchedule(controller: PaceController(cap: scenario.cap, learned: scenario.learned, tuning: scenario.tuning))
        var tokens = scenario.burst
        var refilled = 0.0
        enum Step { case reserve, begin, arrive, answer }
        let workers = scenario.concurrency
        var step = [Step](repeating: .reserve, count: workers)
        var reservation = [PacingSchedule.Reservation?](repeating: nil, count: workers)
        var started = [Double](repeating: 0, count: workers)
        var attempt = [Int](repeating: 1, count: workers)
        var wasAccepted = [Bool](repeating: false, count: workers)
        var events = EventQueue()
        for worker in 0..<workers { events.push(0, worker) }
        var outcome = Outcome(controller: schedule.controller)
        outcome.seconds = scenario.seconds
        var starts: [Double] = []
        while let (now, worker) = events.pop(), now <= scenario.seconds {
            switch step[worker] {
            case .reserve:
                let reserved = schedule.reserve(at: now)
                reservation[worker] = reserved
                step[worker] = .begin
                let late = scenario.lateShare > 0 && random.unit() < scenario.lateShare ? random.unit() * scenario.lateBy : 0
                var begins = reserved.start + late
                if scenario.stallEvery > 0 {
                    let stall = (begins / scenario.stallEvery).rounded(.down) * scenario.stallEvery
                    if stall > 0, begins - stall < scenario.stallFor { begins = stall + scenario.stallFor }
                }
                events.push(begins, worker)
            case .begin:
                guard let reserved = reservation[worker], schedule.begin(reserved, at: now) else {
                    step[worker] = .reserve
                    events.push(now, worker)
                    continue
                }
                started[worker] = reserved.start
                starts.append(reserved.start)
                step[worker] = .arrive
                let tail = scenario.tailShare > 0 && random.unit() < scenario.tailShare ? random.unit() * scenario.tailBy : 0
                events.push(now + scenario.latency / 2 + random.unit() * scenario.jitter + tail, worker)
            case .arrive:
                var accepted = true
                if scenario.randomShare > 0, random.unit() < scenario.randomShare {
                    accepted = false
                } else if let budget = scenario.budget {
                    tokens = min(scenario.burst, tokens + (now - refilled) * budget)
                    refilled = now
                    if tokens >= 1 { tokens -= 1 } else { accepted = false }
                }
                wasAccepted[worker] = accepted
                if accepted { outcome.accepted += 1 } else { outcome.limited += 1 }
                step[worker] = .answer
                events.push(now + scenario.latency / 2 + random.unit() * scenario.jitter, worker)
            case .answer:
                step[worker] = .reserve
                if wasAccepted[worker] {
                    schedule.accepted(startedAt: started[worker], at: now)
                    attempt[worker] = 1
                    events.push(now, worker)
                } else {
                    // As the fetcher: Retry-After, else full jitter over 0.5 s × 2^(attempt-1).
                    let backoff = random.unit() * 0.5 * Double(1 << min(attempt[worker] - 1, 6))
                    let delay = scenario.retryAfter ?? backoff
                    let before = schedule.controller.pace
                    let verdict = schedule.limited(startedAt: started[worker], pause: delay, at: now)
                    if scenario.trace {
                        outcome.trace.append("t=\(now) started=\(started[worker]) pace \(before) -> \(schedule.controller.pace) \(verdict) accepted=\(outcome.accepted) est=\(schedule.controller.estimate ?? -1) single=\(schedule.controller.singleBurst) lastTight=\(schedule.controller.lastTightEstimate ?? -1) noise=\(schedule.controller.noiseShare)")
                    }
                    attempt[worker] += 1
                    // (Deferred: IDs are endless here, so the worker goes on with another; its
                    // attempt count stands for the deferred ID's.)
                    events.push(scenario.defers ? now : now + delay, worker)
                }
            }
        }
        var windowStart = 0
        for (index, start) in starts.enumerated() {
            while starts[windowStart] <= start - 1 { windowStart += 1 }
            outcome.busiestSecond = max(outcome.busiestSecond, index - windowStart + 1)
        }
        outcome.controller = schedule.controller
        return outcome
    }
}

/// Events by time, then by the order they were pushed.
struct EventQueue {
    private var heap: [(time: Double, order: Int, worker: Int)] = []
    private var pushed = 0

    mutating func push(_ time: Double, _ worker: Int) {
        heap.append((time, pushed, worker))
        pushed += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var first = parent
                if left < heap.count, precedes(heap[left], heap[first]) { first = left }
                if right < heap.count, precedes(heap[right], heap[first]) { first = right }
                if first == parent { break }
                heap.swapAt(parent, first)
                parent = first
            }
        }
        return (top.time, top.worker)
    }

    private func precedes(_ a: (time: Double, order: Int, worker: Int), _ b: (time: Double, order: Int, worker: Int)) -> Bool {
        a.time < b.time || (a.time == b.time && a.order < b.order)
    }
}

struct SplitMix {
    var state: UInt64

    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(UInt64(1) << 53)
    }
}

@Suite struct PacingSimulationTests {
    /// Token-bucket consoles the controller must find without being told: a minute of
    /// requests reaches >= 90% of the budget with <= 3% of them answered 429.
    static let consoles: [SimulatedRun.Scenario] = [
        .init(budget: 25, burst: 5, retryAfter: nil, latency: 0.05, concurrency: 16),
        .init(budget: 25, burst: 20, retryAfter: 1, latency: 0.01, concurrency: 64),
        .init(budget: 100, burst: 5, retryAfter: 1, latency: 0.05, concurrency: 16),
        .init(budget: 100, burst: 20, retryAfter: nil, latency: 0.2, concurrency: 64),
        .init(budget: 500, burst: 5, retryAfter: 1, latency: 0.01, concurrency: 64),
        .init(budget: 500, burst: 5, retryAfter: nil, latency: 0.05, concurrency: 64),
    ]

    @Test(arguments: consoles)
    func findsTheBudget(_ scenario: SimulatedRun.Scenario) {
        let run = SimulatedRun.run(scenario)
        let budget = scenario.budget!
        #expect(run.acceptedPerSecond >= 0.9 * budget, "\(scenario): \(run.acceptedPerSecond) req/s accepted")
        #expect(run.limitedShare <= 0.03, "\(scenario): \(run.limited) 429s of \(run.accepted + run.limited)")
        // What it measured is the budget, within a few percent.
        let estimate = try? #require(run.controller.estimate)
        #expect(abs((estimate ?? 0) - budget) <= 0.06 * budget, "\(scenario): measured \(estimate ?? 0)")
    }

    /// A one-token bucket at 100 req/s on a busy machine, as the real mock console on two cores
    /// showed it (release build, 2026-12-06: arrival 0.17-0.65 ms after the start for 98 in
    /// 100 requests, up to 4 ms; starts late by more than 0.2 ms for 1 in 100, up to 3.5 ms):
    /// two requests must arrive 10 ms apart, and a late start, then one on time, do not.
    /// The 429s this jitter causes under the budget are not taken for it, a late start moves
    /// the ones after it, and the start-up takes the rate its first refused requests were sent
    /// at, not the accepted rate (about half the budget when over it). (Before: 86-90 req/s
    /// across latencies and C, 89.9 in this one; now 92-92.8.)
    @Test(arguments: [1, nil] as [Double?])
    func aOneTokenBucketIsUsedDespiteJitter(_ retryAfter: Double?) {
        let run = SimulatedRun.run(.init(budget: 100, burst: 1, retryAfter: retryAfter, latency: 0.05, concurrency: 16,
                                         jitter: 0.0003, lateShare: 0.01, lateBy: 0.002, tailShare: 0.01, tailBy: 0.001))
        #expect(run.acceptedPerSecond >= 0.91 * 100, "\(run.acceptedPerSecond) req/s accepted")
        #expect(run.limitedShare <= 0.03, "\(run.limited) 429s of \(run.accepted + run.limited)")
    }

    /// A one-token bucket at 500 req/s (2 ms apart) with arrival jitter as
    /// `scripts/bench-jitter.sh` measured it on two cores (2026-12-06: arrival 81-140 µs after
    /// the start for 8 in 10 requests, 0.4 ms for 1 in 100): 429s under the budget come at any
    /// pace near it, so the pace settles where they are `jitterTarget` of a cruise step's
    /// requests. (Before, a step of 1% once a round trip over four seconds' answers: 439.7
    /// req/s, 1.4% 429s; now 447.2, 2.0%.)
    @Test func aOneTokenBucketOfFiveHundredSettlesAtTheJitterTarget() {
        let run = SimulatedRun.run(.init(budget: 500, burst: 1, retryAfter: 1, latency: 0.05, concurrency: 64,
                                         jitter: 0.00006, lateShare: 0.01, lateBy: 0.002, tailShare: 0.02, tailBy: 0.0004))
        #expect(run.acceptedPerSecond >= 0.89 * 500, "\(run.acceptedPerSecond) req/s accepted")
        #expect(run.limitedShare <= 0.025, "\(run.limited) 429s of \(run.accepted + run.limited)")
    }

    /// A one-token bucket's start-up, the first three seconds (jitter as in the test above):
    /// from the first 429's floor of 10 req/s the pace doubles every quarter second (before,
    /// under 50 req/s, every ten accepted requests, and over it held to 2.5 times the last
    /// second's accepted rate), and the first 429 it meets measures the budget from the pace
    /// the refused request was sent at (before, the rate of the four gaps before it, a fifth
    /// low at 25 req/s and after a late start at 500). Before: 67%, 47% and 23% of the budget
    /// accepted in those seconds at 25, 100 and 500 req/s; then 91%, 71% and 45%; now (from
    /// 50 req/s up doubling every eighth of a second, and the signal at the rate the first of
    /// the run of 429s that ends the start-up was sent at) 91%, 73% and 48%.
    @Test(arguments: [(25.0, 0.8), (100, 0.6), (500, 0.35)])
    func aOneTokenBucketIsReachedWithinTwoSeconds(_ budget: Double, _ share: Double) {
        let run = SimulatedRun.run(.init(budget: budget, burst: 1, retryAfter: 1, latency: 0.05, concurrency: 64, seconds: 3,
                                         jitter: 0.00006, lateShare: 0.01, lateBy: 0.002, tailShare: 0.02, tailBy: 0.0004))
        #expect(Double(run.accepted) >= share * 3 * budget, "\(run.accepted) accepted in 3 s at \(budget) req/s")
        let estimate = run.controller.estimate ?? 0
        #expect(abs(estimate - budget) <= 0.06 * budget, "measured \(estimate) of \(budget)")
    }

    /// A one-token bucket at 500 req/s on a machine that now and then stalls a request's
    /// arrival by up to 3 ms (2 in 100): the first requests sent after a decrease arrive right
    /// behind the last ones sent before it, and a stall among them refuses a few. Within a
    /// second of a decrease a second signal takes a quarter of the answers since refused, not
    /// a twentieth (on the real mock, four of the first 60 answers took the pace from 0.96 to
    /// 0.75 of the budget). With a twentieth, as before, 2 of these 10 runs had such a second signal.
    @Test func aFewJitter429sJustAfterASignalAreNotASecondOne() {
        func secondSignals(_ tuning: PaceController.Tuning) -> Int {
            (11...20).reduce(0) { count, seed in
                let run = SimulatedRun.run(.init(budget: 500, burst: 1, retryAfter: 1, latency: 0.05, concurrency: 64,
                                                 jitter: 0.00006, lateShare: 0.01, lateBy: 0.002, tailShare: 0.02, tailBy: 0.003,
                                                 seed: UInt64(seed), trace: true, tuning: tuning))
                // (Past the start-up, whose signals come a round trip apart while the pace is over.)
                let signals = run.trace.filter { $0.contains(" budget ") }.compactMap { Double($0.split(separator: " ")[0].dropFirst(2)) }
                return count + zip(signals, signals.dropFirst()).filter { $0.0 > 3 && $0.1 - $0.0 < 1 }.count
            }
        }
        #expect(secondSignals(PaceController.Tuning()) == 0)
        var before = PaceController.Tuning()
        before.jitterShareAfterSignal = before.jitterShare
        #expect(secondSignals(before) > 0, "the scenario has such clusters")
    }

    /// A client that stalls for 18 ms every 4 s (s1ingest on one vCPU at 500 req/s did) against
    /// a bucket of five: the requests due during a stall begin after it, spaced, not all at
    /// once, when five of nine met a full bucket and every other stall was a budget signal and
    /// (with `Retry-After`) a second's pause. Before: 9 signals, 82.4% of the budget accepted
    /// (88.1% without `Retry-After`; the real mock, 83.5%); now 4 (the unpaced start's, the
    /// start-up's and two over the budget), 92.4% and 96.1%.
    @Test(arguments: [1, nil] as [Double?])
    func aClientThatStallsDoesNotBurstIntoAShallowBucket(_ retryAfter: Double?) {
        let run = SimulatedRun.run(.init(budget: 500, burst: 5, retryAfter: retryAfter, latency: 0.05, concurrency: 64,
                                         stallEvery: 4, stallFor: 0.018))
        #expect(run.acceptedPerSecond >= 0.9 * 500, "\(run.acceptedPerSecond) req/s accepted")
        #expect(run.controller.budgetSignals <= 4, "\(run.controller.budgetSignals) budget signals")
    }

    /// A client held back by its concurrency (C=64 at 200 ms: at most 320 req/s) against a
    /// budget of 500 it has met before: its cruise steps are clean because it cannot send
    /// faster, not because the console allows more. The pace rose to 2.5 times what it sent
    /// (793 req/s here); on the real mock freed slots then started together 1.25 ms apart, a
    /// bunch met the empty bucket of five every 20 s, each a budget signal and a second's pause
    /// (91.3% of 320 accepted; now 95.6%, 2 429s instead of 25-28). The simulation's slots do
    /// not free in bunches, so this checks the pace, not the 429s.
    @Test func aClientHeldBackByItsConcurrencyKeepsItsPaceNearWhatItSends() {
        let run = SimulatedRun.run(.init(budget: 500, burst: 5, retryAfter: 1, latency: 0.2, concurrency: 64, learned: 500))
        let sendable = 64 / 0.2
        #expect(run.controller.pace <= 1.7 * sendable, "pace \(run.controller.pace)")
        #expect(run.acceptedPerSecond >= 0.97 * sendable, "\(run.acceptedPerSecond) req/s accepted")
    }

    @Test(arguments: [1, nil] as [Double?])
    func aSlowConsoleIsFoundWithFew429s(_ retryAfter: Double?) {
        // 5 requests a second: 300 in the minute, so every 429 counts (the unpaced start's
        // first overshoot included).
        let run = SimulatedRun.run(.init(budget: 5, burst: 5, retryAfter: retryAfter, latency: 0.05, concurrency: 16))
        #expect(run.acceptedPerSecond >= 0.9 * 5)
        #expect(run.limitedShare <= 0.03, "\(run.limited) 429s of \(run.accepted + run.limited)")
    }

    @Test func randomFailuresAreNotABudget() {
        // No budget, but 4% of requests answered 429 whatever the pace: at least half of
        // what a clean run does.
        let clean = SimulatedRun.run(.init(budget: nil, retryAfter: nil, latency: 0.05, concurrency: 16))
        let noisy = SimulatedRun.run(.init(budget: nil, retryAfter: nil, latency: 0.05, concurrency: 16, randomShare: 0.04))
        #expect(noisy.acceptedPerSecond >= 0.5 * clean.acceptedPerSecond, "\(noisy.acceptedPerSecond) vs \(clean.acceptedPerSecond) clean")
        #expect(noisy.controller.noiseShare > 0.02 && noisy.controller.noiseShare < 0.1, "learned \(noisy.controller.noiseShare)")
        #expect(noisy.controller.undoneDecreases >= 1)
    }

    @Test func aCapIsExactWhenTheConsoleAllowsIt() {
        let run = SimulatedRun.run(.init(budget: 100, retryAfter: 1, latency: 0.05, concurrency: 16, cap: 25))
        #expect(run.busiestSecond <= 25)
        #expect(run.acceptedPerSecond >= 0.98 * 25)
        #expect(run.limited == 0)
    }

    @Test func aCapOverTheBudgetIsNoExcuseFor429s() {
        // `--rate 200` against a console that allows 50: the cap is a ceiling, not a target.
        let run = SimulatedRun.run(.init(budget: 50, retryAfter: 1, latency: 0.05, concurrency: 16, cap: 200))
        #expect(run.busiestSecond <= 200)
        #expect(run.acceptedPerSecond >= 0.9 * 50)
        #expect(run.limitedShare <= 0.03)
    }

    @Test(arguments: [1, nil] as [Double?])
    func aCapUnderAOneTokenBudgetIsReachedDespiteJitter(_ retryAfter: Double?) {
        // `--rate 95` against a bucket of one token filled 100 times a second, on a busy
        // machine: a few requests arrive closer than 10 ms and are refused. They say nothing of
        // the budget (the cap is under it); each costing a second's pause kept 66 of the 95.
        let run = SimulatedRun.run(.init(budget: 100, burst: 1, retryAfter: retryAfter, latency: 0.05, concurrency: 16, cap: 95,
                                         jitter: 0.0003, lateShare: 0.01, lateBy: 0.002, tailShare: 0.01, tailBy: 0.001))
        #expect(run.busiestSecond <= 95)
        #expect(run.acceptedPerSecond >= 0.95 * 95, "\(run.acceptedPerSecond) req/s accepted")
        #expect(run.limitedShare <= 0.03, "\(run.limited) 429s of \(run.accepted + run.limited)")
    }

    @Test func aCapWithRandom429sStaysNearIt() {
        // `--rate 100` against a console with no budget but 4% of requests refused whatever the
        // pace: rare 429s under a cap are not taken for a budget, nor do they wear the pace down.
        let run = SimulatedRun.run(.init(budget: nil, retryAfter: nil, latency: 0.05, concurrency: 16, randomShare: 0.04, cap: 100))
        #expect(run.busiestSecond <= 100)
        #expect(run.acceptedPerSecond >= 0.9 * 100, "\(run.acceptedPerSecond) req/s accepted")
    }

    @Test func aRememberedBudgetStartsNearIt() {
        let cold = SimulatedRun.run(.init(budget: 100, retryAfter: 1, latency: 0.05, concurrency: 16, seconds: 30))
        let warm = SimulatedRun.run(.init(budget: 100, retryAfter: 1, latency: 0.05, concurrency: 16, seconds: 30, learned: 100))
        #expect(warm.acceptedPerSecond >= 0.9 * 100, "\(warm.acceptedPerSecond)")
        #expect(warm.acceptedPerSecond > cold.acceptedPerSecond)
        #expect(warm.limited <= cold.limited)
    }

    @Test func aBudgetThatGrewIsFound() {
        // Learned 50 on an earlier run; the console now allows 100.
        let run = SimulatedRun.run(.init(budget: 100, retryAfter: 1, latency: 0.05, concurrency: 16, learned: 50))
        #expect(run.acceptedPerSecond >= 0.8 * 100, "\(run.acceptedPerSecond)")
        #expect(run.controller.pace >= 0.9 * 100, "ends at \(run.controller.pace)")
    }

    @Test func aPauseDoesNotDriveTheEstimateDown() {
        // A long Retry-After (5 s) on every budget signal: the measurement stays the budget.
        let run = SimulatedRun.run(.init(budget: 100, burst: 5, retryAfter: 5, latency: 0.05, concurrency: 16))
        let estimate = run.controller.estimate ?? 0
        #expect(estimate >= 0.9 * 100 && estimate <= 1.06 * 100, "measured \(estimate)")
    }
}

extension SimulatedRun.Scenario: CustomTestStringConvertible, CustomStringConvertible {
    var description: String {
        let retry = retryAfter.map { "Retry-After \($0) s" } ?? "no Retry-After"
        return "budget \(budget.map { "\($0)" } ?? "none")/s, burst \(burst), \(retry), latency \(latency) s, C=\(concurrency)"
    }

    var testDescription: String { description }
}

/// The start without a cap or a learned budget: no pace at all until the console's first 429,
/// the concurrency the only limit (a console without a budget is as fast as before the
/// pacer); the first 429 sets a pace from what was accepted, and the budget is measured from
/// there as before.
@Suite struct UnpacedStartTests {
    @Test(arguments: [(0.0005, 16), (0.01, 16), (0.05, 16), (0.05, 64), (0.2, 16)])
    func withoutABudgetOnlyTheConcurrencyLimits(_ latency: Double, _ concurrency: Int) {
        let run = SimulatedRun.run(.init(budget: nil, retryAfter: nil, latency: latency, concurrency: concurrency, seconds: 10))
        // Each request takes the latency and up to a millisecond of jitter; the start-up
        // rounds (2, 3, 4, 6, 7, 4, 7, 12, ... in flight) cost a round trip each.
        let ideal = Double(concurrency) / (latency + 0.0005)
        let tuning = PaceController.Tuning()
        var rounds = 1.0, size = tuning.startupWindow, sent = 0.0
        while size.rounded(.down) < Double(concurrency) {
            sent += size.rounded(.down)
            size = PaceController.nextRound(after: size, sent: sent, tuning)
            rounds += 1
        }
        #expect(run.acceptedPerSecond >= ideal * (1 - rounds * latency / 10 - 0.01), "\(run.acceptedPerSecond)/s of \(ideal)")
        #expect(run.controller.isUnpaced)
        #expect(run.limited == 0)
    }

    @Test func aShortUnpacedRunRecordsTheRateItWasAccepted() {
        // 200 requests answered within 0.1 s: the record says about 2,000/s, not the start's 10/s.
        var controller = PaceController(cap: nil)
        for index in 0..<200 {
            let time = Double(index) * 0.0005
            controller.started(at: time)
            controller.accepted(startedAt: time, at: time + 0.001)
        }
        #expect(controller.isUnpaced)
        #expect(controller.pace > 1_500 && controller.pace < 2_500, "\(controller.pace)")
    }

    @Test func theFirstRoundsGrowOnceAnswered() {
        var schedule = PacingSchedule(controller: PaceController(cap: nil))
        #expect(schedule.controller.isUnpaced)
        // Two start at once; the third waits for their answers (it looks again soon). (They
        // begin a moment after their reserved start, as on a real clock; their answers say
        // the reserved start.)
        for _ in 0..<2 {
            let reservation = schedule.reserve(at: 0)
            #expect(reservation.start == 0)
            let began = schedule.begin(reservation, at: 0.0001)
            #expect(began)
        }
        let third = schedule.reserve(at: 0)
        #expect(third.start > 0 && third.start <= 0.05)
        var began = schedule.begin(third, at: third.start)
        #expect(!began)
        schedule.accepted(startedAt: 0, at: 0.05)
        began = schedule.begin(schedule.reserve(at: 0.05), at: 0.05)
        #expect(!began, "one answer of two: the round is not over")
        schedule.accepted(startedAt: 0, at: 0.05)
        // Then three at once (half as many again, while rounds are small), and the fourth waits.
        for _ in 0..<3 {
            let reservation = schedule.reserve(at: 0.05)
            #expect(reservation.start == 0.05)
            began = schedule.begin(reservation, at: 0.05)
            #expect(began)
        }
        let fourth = schedule.reserve(at: 0.05)
        #expect(fourth.start > 0.05)
    }

    @Test func aRoundWithoutAnswersDoesNotStallTheStart() {
        // Requests that end without an answer (a reset connection) are not counted: the round
        // ends after a second (before any answer gave a latency) all the same.
        var schedule = PacingSchedule(controller: PaceController(cap: nil))
        _ = schedule.nextStart(at: 0)
        _ = schedule.nextStart(at: 0)
        var began = schedule.begin(schedule.reserve(at: 0.5), at: 0.5)
        #expect(!began)
        let late = schedule.reserve(at: 1.0)
        #expect(late.start == 1.0)
        began = schedule.begin(late, at: 1.0)
        #expect(began)
    }

    @Test func aCapOrALearnedBudgetIsPacedFromTheStart() {
        #expect(PaceController(cap: nil).isUnpaced)
        #expect(!PaceController(cap: 100).isUnpaced)
        #expect(!PaceController(cap: nil, learned: 50).isUnpaced)
        var old = PaceController.Tuning()
        old.unpacedStart = false
        #expect(!PaceController(cap: nil, tuning: old).isUnpaced)
    }

    /// `count` requests accepted one after the other, `spacing` apart, unpaced; then one more
    /// and a second one sent with it, and the first of them answered 429 at `answered`.
    static func firstLimit(after count: Int, spacing: Double) -> (schedule: PacingSchedule, start: Double, sameRound: Double, answered: Double) {
        var schedule = PacingSchedule(controller: PaceController(cap: nil))
        var now = 0.0
        for _ in 0..<count {
            let start = schedule.nextStart(at: now)
            now = start + spacing
            schedule.accepted(startedAt: start, at: now)
        }
        #expect(schedule.controller.isUnpaced)
        let start = schedule.nextStart(at: now)
        let sameRound = schedule.nextStart(at: start)
        return (schedule, start, sameRound, start + spacing)
    }

    @Test func theFirst429SetsAPaceFromWhatWasAccepted() {
        // 60 accepted in 0.3 s: 200/s.
        var fast = Self.firstLimit(after: 60, spacing: 0.005)
        var verdict = fast.schedule.limited(startedAt: fast.start, pause: 1, at: fast.answered)
        #expect(verdict == .firstLimit)
        let rate = 60 / fast.answered
        #expect(fast.schedule.controller.pace >= 0.95 * rate && fast.schedule.controller.pace <= rate, "\(fast.schedule.controller.pace)")
        // 6 accepted in 0.3 s (20/s) is a slow console's burst: its rate over a second (6/s),
        // but no less than the first pace of a start-up (10/s).
        var slow = Self.firstLimit(after: 6, spacing: 0.05)
        verdict = slow.schedule.limited(startedAt: slow.start, pause: 1, at: slow.answered)
        #expect(verdict == .firstLimit)
        #expect(slow.schedule.controller.pace >= 9.5 && slow.schedule.controller.pace <= 10, "\(slow.schedule.controller.pace)")
        // 4 accepted in half a second: no more than those 8/s.
        var burst = Self.firstLimit(after: 4, spacing: 0.1)
        verdict = burst.schedule.limited(startedAt: burst.start, pause: 1, at: burst.answered)
        #expect(verdict == .firstLimit)
        #expect(burst.schedule.controller.pace >= 7.5 && burst.schedule.controller.pace <= 8, "\(burst.schedule.controller.pace)")
    }

    @Test(arguments: [0.05, 2.0])
    func aFirst429WithNothingAcceptedSetsTheFloorWhateverItsDelay(_ delay: Double) {
        // Both first requests refused, answered after `delay` (2 s: a busy machine): the pace
        // is the floor's (10/s, less 2%), not 1 / delay, which held a loaded test run for 30 s.
        var schedule = PacingSchedule(controller: PaceController(cap: nil))
        let first = schedule.nextStart(at: 0)
        let second = schedule.nextStart(at: 0)
        #expect(schedule.limited(startedAt: first, pause: 1, at: delay) == .firstLimit)
        #expect(schedule.limited(startedAt: second, pause: 1, at: delay) == .firstLimit)
        #expect(schedule.controller.pace >= 9.5 && schedule.controller.pace <= 10, "\(schedule.controller.pace)")
    }

    @Test func theFirst429PausesOnlyItsRequest() {
        let first = Self.firstLimit(after: 60, spacing: 0.005)
        var schedule = first.schedule
        let (start, sameRound, answered) = (first.start, first.sameRound, first.answered)
        // A 429 with Retry-After: 1: paced from now on, but no pause for the others.
        var verdict = schedule.limited(startedAt: start, pause: 1, at: answered)
        #expect(verdict == .firstLimit)
        #expect(!schedule.controller.isUnpaced)
        #expect(schedule.pausedUntil < answered)
        // A 429 for a request sent before it is the same overshoot: no pause either.
        verdict = schedule.limited(startedAt: sameRound, pause: 1, at: answered)
        #expect(verdict == .firstLimit)
        #expect(schedule.pausedUntil < answered)
        #expect(schedule.controller.budgetSignals == 1)
        // Paced from now on: the next start is 1/pace after the last.
        let next = schedule.nextStart(at: answered)
        #expect(next >= sameRound + 0.99 / schedule.controller.pace)
    }
}
