import Testing
import S1Testing
@testable import S1IngestCore

/// Issue 12's thresholds over the whole grid, on the simulated console (`SimulatedRun`): a
/// minute without `--rate` reaches >= 90% of what is attainable with <= 3% of requests
/// answered 429, for budgets 5-500 req/s, bursts 1, 5 and 20, latency 10-200 ms, C 4-64, with
/// and without Retry-After; and random 429s cost at most half of a clean run.
///
/// Attainable: the budget, unless the client cannot send that fast (C / latency), or the
/// bucket holds one token (then two requests must arrive at least 1 / budget apart, and the
/// simulation's jitter in arrival times, up to `jitter`, has to fit in that spacing too).
///
/// The rows in `PacingGrid.short` do not meet the thresholds yet; they are known issues
/// (README, "Pacing", and docs/pacing-rounds.md say by how much), checked so that a change that fixes one shows.
enum PacingGrid {
    static let budgets: [Double] = [5, 25, 100, 500]
    static let bursts: [Double] = [1, 5, 20]
    static let latencies = [0.01, 0.05, 0.2]
    static let concurrencies = [4, 16, 64]

    static let scenarios: [SimulatedRun.Scenario] = {
        var all: [SimulatedRun.Scenario] = []
        for burst in bursts {
            for budget in budgets {
                for latency in latencies {
                    for concurrency in concurrencies {
                        for retryAfter in [1, nil] as [Double?] {
                            all.append(.init(budget: budget, burst: burst, retryAfter: retryAfter, latency: latency, concurrency: concurrency))
                        }
                    }
                }
            }
        }
        return all
    }()

    /// Rows short of the thresholds (budget/burst/Retry-After/latency/C).
    static let short: Set<String> = []

    /// Random-429 rows short of it (latency/C/Retry-After/seed).
    static let noisyShort: Set<String> = []

    static func attainable(_ scenario: SimulatedRun.Scenario) -> Double {
        var limit = Double(scenario.concurrency) / (scenario.latency + scenario.jitter)
        if let budget = scenario.budget {
            limit = min(limit, scenario.burst < 2 ? 1 / (1 / budget + scenario.jitter) : budget)
        }
        return limit
    }
}

extension SimulatedRun.Scenario {
    /// budget/burst/Retry-After/latency/C, as in `PacingGrid.short`.
    var gridKey: String {
        func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        return "\(number(budget ?? 0))/\(number(burst))/\(retryAfter == nil ? "noRA" : "RA")/\(latency)/\(concurrency)"
    }
}

/// One case at a time: each is a few hundred milliseconds of CPU that does not yield, and the
/// suite's 225 cases at once would hold every thread of the cooperative pool for most of a
/// minute, stalling the timing-sensitive tests that run beside them (a stop requested after
/// 200 ms would be seen half a minute later).
@Suite(.serialized, .cpuExclusive) struct PacingGridTests {
    @Test(arguments: PacingGrid.scenarios)
    func findsTheBudget(_ scenario: SimulatedRun.Scenario) {
        let run = SimulatedRun.run(scenario)
        let attainable = PacingGrid.attainable(scenario)
        let check = {
            #expect(run.acceptedPerSecond >= 0.9 * attainable, "\(scenario): \(run.acceptedPerSecond) req/s accepted of \(attainable)")
            #expect(run.limitedShare <= 0.03, "\(scenario): \(run.limited) 429s of \(run.accepted + run.limited)")
        }
        if PacingGrid.short.contains(scenario.gridKey) {
            withKnownIssue("issue 12: short of the thresholds in simulation", isIntermittent: true) { check() }
        } else {
            check()
        }
    }

    /// No budget, 4% of requests answered 429 at random, seeds 1-3: at least half of a clean
    /// run's rate. (Where the retries alone leave less than 55% of a clean run to any client,
    /// at least 75% of what a client without a pacer gets from the same console; with the
    /// fetcher's deferral, a 429'd ID's wait holds no worker, and that is never the case.)
    @Test(arguments: PacingGrid.latencies, PacingGrid.concurrencies)
    func randomFailuresAreNotABudget(_ latency: Double, _ concurrency: Int) {
        for retryAfter in [1, nil] as [Double?] {
            for seed: UInt64 in 1...3 {
                let clean = SimulatedRun.run(.init(budget: nil, retryAfter: retryAfter, latency: latency, concurrency: concurrency, seed: seed))
                let noisy = SimulatedRun.run(.init(budget: nil, retryAfter: retryAfter, latency: latency, concurrency: concurrency,
                                                   randomShare: 0.04, seed: seed))
                let unpaced = SimulatedRun.run(.init(budget: nil, retryAfter: retryAfter, latency: latency, concurrency: concurrency,
                                                     randomShare: 0.04, cap: 1e9, seed: seed))
                let ofClean = noisy.acceptedPerSecond / clean.acceptedPerSecond
                let retriesLeave = unpaced.acceptedPerSecond / clean.acceptedPerSecond
                let ofUnpaced = noisy.acceptedPerSecond / unpaced.acceptedPerSecond
                let check = {
                    #expect(ofClean >= 0.5 || (retriesLeave < 0.55 && ofUnpaced >= 0.75),
                            "latency \(latency), C=\(concurrency), Retry-After \(String(describing: retryAfter)), seed \(seed): \(ofClean) of clean, \(ofUnpaced) of unpaced (retries leave \(retriesLeave))")
                }
                if PacingGrid.noisyShort.contains("\(latency)/\(concurrency)/\(retryAfter == nil ? "noRA" : "RA")/\(seed)") {
                    withKnownIssue("issue 12: random 429s cost more than half in simulation", isIntermittent: true) { check() }
                } else {
                    check()
                }
            }
        }
    }
}
