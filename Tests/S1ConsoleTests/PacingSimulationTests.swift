import Testing
@testable import S1IngestCore
import S1Testing

/// The pacing controller against a simulated console, on a simulated clock: `concurrency`
/// workers each reserve a start from the schedule, wait for it, send (arriving after half
/// the latency, plus a little jitter), and get the answer after the other half. The console
/// enforces a token bucket (`budget` per second, `burst` deep) and/or answers 429 at random.
/// A 429'd request is retried after `Retry-After` (or the fetcher's jittered back-off),
/// as `AnalysisFetcher` does. Deterministic: a seeded generator, and ties broken by order.
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
        var seed: UInt64 = 1
    }

    struct Outcome {
        var accepted = 0
        var limited = 0
        var seconds = 60.0
        /// Most starts in any one-second window.
        var busiestSecond = 0
        var controller: PaceController

        var acceptedPerSecond: Double { Double(accepted) / seconds }
        var limitedShare: Double { Double(limited) / Double(max(1, accepted + limited)) }
    }

    static func run(_ scenario: Scenario) -> Outcome {
        var random = SplitMix(state: scenario.seed)
        var schedule = PacingSchedule(controller: PaceController(cap: scenario.cap, learned: scenario.learned))
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
                events.push(reserved.start, worker)
            case .begin:
                guard let reserved = reservation[worker], schedule.begin(reserved, at: now) else {
                    step[worker] = .reserve
                    events.push(now, worker)
                    continue
                }
                started[worker] = reserved.start
                starts.append(reserved.start)
                step[worker] = .arrive
                events.push(reserved.start + scenario.latency / 2 + random.unit() * scenario.jitter, worker)
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
                    schedule.limited(startedAt: started[worker], pause: delay, at: now)
                    attempt[worker] += 1
                    events.push(now + delay, worker)
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

    @Test func aSlowConsoleIsFoundWithFew429s() {
        // 5 requests a second: 300 in the minute, so every 429 counts.
        let run = SimulatedRun.run(.init(budget: 5, burst: 5, retryAfter: 1, latency: 0.05, concurrency: 16))
        #expect(run.acceptedPerSecond >= 0.9 * 5)
        #expect(run.limitedShare <= 0.04, "\(run.limited) 429s of \(run.accepted + run.limited)")
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
