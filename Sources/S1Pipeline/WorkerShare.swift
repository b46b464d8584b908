import S1Common
import S1Console
import S1Storage
import Synchronization

/// This process's place among the workers of one console on a database several processes
/// write (PostgreSQL): they share the console's rate budget, and one at a time lists it.
///
/// Opened before the run's pacer: the learned budget is split among the workers alive then.
/// While the run lasts the count is read again every ``refreshInterval`` and the pacer's
/// share of `--rate` follows it. A worker that joins others under a cap waits two intervals
/// more before its first request, so the others have shrunk their shares by then and the
/// workers together stay under the cap (see ``RequestThrottle/share(among:)``). Nil for a
/// store with one writer at a time (SQLite).
package final class WorkerShare: Sendable {
    package let coordinator: any WorkerCoordinator
    package let console: String
    /// Live workers of the console when this one joined (itself included).
    package let workersAtStart: Int
    private let refresher = Mutex<Task<Void, Never>?>(nil)
    /// The workers counted so far (each count includes this one), and how many counts.
    private let counted = Mutex<(sum: Int, counts: Int)>((0, 0))
    private let trouble = Mutex<String?>(nil)

    /// How often the number of workers is read again.
    package static let refreshInterval: Duration = .milliseconds(500)

    private init(coordinator: any WorkerCoordinator, console: String, workersAtStart: Int) {
        self.coordinator = coordinator
        self.console = console
        self.workersAtStart = workersAtStart
    }

    /// The pacer of a run against `console`: capped at this worker's share of `maxRate`,
    /// starting from its share of the `learned` budget, its share kept in step until
    /// ``leave()`` (the second value: nil when the store coordinates nothing, or when joining
    /// failed, which the third value says and the run goes on pacing alone).
    package static func pacer(_ provider: any StoreProvider, console: String, maxRate: Double?, learned: Double?,
                              stop: StopRequest) async -> (RequestThrottle, WorkerShare?, warning: String?) {
        var share: WorkerShare?
        var warning: String?
        do {
            share = try join(provider, console: console)
        } catch {
            warning = "cannot join the other workers of console '\(console)' to share its rate (\(error)); pacing alone"
        }
        let throttle = RequestThrottle(maxRate: maxRate, learnedBudget: share?.share(ofLearned: learned) ?? learned)
        await share?.pace(throttle, stop: stop)
        return (throttle, share, warning)
    }

    /// Joins the workers of `console`; nil when the store has nothing to coordinate.
    package static func join(_ provider: any StoreProvider, console: String) throws -> WorkerShare? {
        guard let coordinator = try provider.openCoordinator() else { return nil }
        do {
            try coordinator.join(console: console)
            return WorkerShare(coordinator: coordinator, console: console, workersAtStart: try coordinator.workers(console: console))
        } catch {
            coordinator.close()
            throw error
        }
    }

    /// The budget learned on earlier runs, as this worker's share of it.
    package func share(ofLearned budget: Double?) -> Double? {
        budget.map { $0 / Double(workersAtStart) }
    }

    /// The console's budget, from the one this worker measured: the workers' 429s are the
    /// console's answer to all of them, so a worker measures its share, the budget over the
    /// workers running meanwhile (their mean count over the run). Recorded so, the next run
    /// starts near the console's budget (a lone run at all of it, workers each at their share)
    /// instead of at one worker's share.
    package func consoleBudget(_ measured: Double?) -> Double? {
        guard let measured else { return nil }
        let (sum, counts) = counted.withLock { $0 }
        let workers = counts == 0 ? Double(workersAtStart) : Double(sum) / Double(counts)
        return measured * max(1, workers)
    }

    /// Notes a count of the console's workers.
    private func count(_ workers: Int) {
        counted.withLock {
            $0.sum += workers
            $0.counts += 1
        }
    }

    /// Keeps `throttle`'s share of the cap in step with the number of workers until
    /// ``leave()``; returns after the wait a newcomer owes the others (or a stop).
    package func pace(_ throttle: RequestThrottle, stop: StopRequest) async {
        await throttle.share(among: workersAtStart)
        count(workersAtStart)
        let coordinator = self.coordinator
        let console = self.console
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.refreshInterval)
                if Task.isCancelled { return }
                do {
                    let workers = try coordinator.workers(console: console)
                    count(workers)
                    await throttle.share(among: workers)
                } catch {
                    // The pacer keeps its last share; the run goes on (its writes will say
                    // more if the database is really gone).
                    self.trouble.withLock { if $0 == nil { $0 = "cannot count the workers of console '\(console)' sharing its rate: \(error)" } }
                }
            }
        }
        refresher.withLock { $0 = task }
        if workersAtStart > 1, throttle.maxRate != nil {
            // Two of the others' refreshes: one may come late on a busy machine (a full test run
            // saw a 429 with one interval's wait).
            _ = await stop.sleep(until: ContinuousClock.now + Self.refreshInterval * 2 + .milliseconds(100))
        }
    }

    /// Stops following the count and leaves the console's workers (and its listing).
    /// Returns what went wrong counting them meanwhile, if anything, for a warning.
    @discardableResult
    package func leave() -> String? {
        refresher.withLock { $0?.cancel() }
        coordinator.close()
        return trouble.withLock { $0 }
    }
}
