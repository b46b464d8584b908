import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing
import S1Pipeline
import S1Console
import S1Common

/// Several processes on one PostgreSQL database: one lists a console at a time, and the
/// workers of a console share its `--rate`.
@Suite(.serialized, .cpuExclusive) struct PostgresCoordinationTests {
    @Test func workersAreCountedWhileTheirConnectionLives() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        _ = try provider.migrate()
        let one = try #require(try provider.openCoordinator())
        let two = try #require(try provider.openCoordinator())
        try one.join(console: "east")
        try two.join(console: "east")
        let other = try #require(try provider.openCoordinator())
        try other.join(console: "west")
        #expect(try one.workers(console: "east") == 2)
        #expect(try one.workers(console: "west") == 1)
        // The listing: one holder at a time, free again when its holder goes.
        #expect(try one.tryLockListing(console: "east"))
        #expect(try !two.tryLockListing(console: "east"))
        #expect(try two.tryLockListing(console: "west"))
        one.close()
        // (The server lets go of a session's locks when its backend has ended: soon, not at once.)
        #expect(try eventually { try two.workers(console: "east") == 1 })
        #expect(try eventually { try other.tryLockListing(console: "east") })
        try other.unlockListing(console: "east")
        two.close()
        other.close()
    }

    /// A worker measures its share of the console's budget (the 429s answer all the workers);
    /// what it records for the console is that times the workers that ran meanwhile, so the
    /// next run, alone or not, starts near the console's budget, not one worker's share.
    @Test func aWorkerRecordsTheConsolesBudgetNotItsShare() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        _ = try provider.migrate()
        let first = try #require(try WorkerShare.join(provider, console: "east"))
        #expect(first.consoleBudget(10) == 10)
        #expect(first.consoleBudget(nil) == nil)
        let second = try #require(try WorkerShare.join(provider, console: "east"))
        #expect(second.workersAtStart == 2)
        #expect(second.share(ofLearned: 30) == 15)
        let stop = StopRequest()
        await second.pace(RequestThrottle(maxRate: nil), stop: stop)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(second.consoleBudget(10) == 20, "two workers all along")
        // Alone for as long again: the mean count falls toward one.
        first.leave()
        try await Task.sleep(for: .milliseconds(2500))
        let mean = try #require(second.consoleBudget(10))
        #expect(mean > 10 && mean < 18, "\(mean)")
        second.leave()
    }

    @Test func aSyncWhileAnotherProcessListsWaitsForItThenOnlyDrains() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let bench = try await IngestBench.start(count: 40)
        defer { Task { await bench.stop() } }
        // Ten IDs queued by "another process", which lists the console now.
        let ids = (0 ..< 10).map(bench.set.threatId)
        try PostgresCluster.enqueue(ids, for: bench.mock.baseURL, into: provider)
        let lister = try #require(try provider.openCoordinator())
        #expect(try lister.tryLockListing(console: "default"))
        let options = try bench.syncOptions()
        // A sync stopped while it waits for the lister ends at once.
        let stop = StopRequest()
        Task {
            try? await Task.sleep(for: .milliseconds(500))
            stop.request()
        }
        let stopped = try await Syncer(options: options, store: provider).run(stop: stop)
        #expect(stopped.listingSkipped && stopped.status == .aborted)
        #expect(bench.mock.analysisRequests == 0)
        // A sync that starts while the other lists waits for its listing to end, then drains.
        let waiting = Task { try await Syncer(options: options, store: provider).run() }
        try await Task.sleep(for: .seconds(1))
        #expect(bench.mock.analysisRequests == 0, "drained before the listing ended")
        lister.close()
        let summary = try await waiting.value
        #expect(summary.listingSkipped)
        #expect(bench.mock.listRequests == 0)
        #expect(summary.ingest?.counts.stored == 10)
        #expect(summary.status == .ok)
        #expect(!summary.watermarkAdvanced)
        #expect(try cluster.psql(database, "SELECT count(*) FROM sync_state WHERE watermark > '2020-01-01'") == "0")
        // The lister is gone (its process ended): the next sync lists, stores the rest and moves the watermark.
        let probe = try #require(try provider.openCoordinator())
        #expect(try eventually { try probe.tryLockListing(console: "default") })
        try probe.unlockListing(console: "default")
        probe.close()
        let next = try await Syncer(options: options, store: provider).run()
        #expect(!next.listingSkipped)
        #expect(bench.mock.listRequests > 0)
        #expect(next.listed == 40)
        #expect(next.watermarkAdvanced)
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == "40")
    }

    /// Three workers drain one queue under `--rate 15` against a console whose budget is 16
    /// requests/s: sharing the cap they send about 15/s together and get no 429 (each alone
    /// at 15/s would send 45/s: dozens of 429s).
    @Test func workersShareTheRateCap() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let bench = try await IngestBench.start(count: 90, faults: FaultPlan(rateLimit: TokenBucketLimit(rate: 16, burst: 5)))
        defer { Task { await bench.stop() } }
        let ids = (0 ..< bench.set.count).map(bench.set.threatId)
        try PostgresCluster.enqueue(ids, for: bench.mock.baseURL, into: provider)
        // Concurrency 2: each worker claims 32 IDs at a time, so all three get some.
        let options = try bench.options(concurrency: 2, rate: 15, source: .queue)
        let clock = ContinuousClock()
        let started = clock.now
        async let one = Ingester(options: options, store: provider).run(stop: StopRequest())
        async let two = Ingester(options: options, store: provider).run(stop: StopRequest())
        async let three = Ingester(options: options, store: provider).run(stop: StopRequest())
        let summaries = try await [one, two, three]
        let elapsed = (clock.now - started).seconds
        let stored = summaries.map { $0.counts.stored }
        #expect(stored.reduce(0, +) == 90)
        #expect(stored.filter { $0 > 0 }.count == 3, "stored per worker: \(stored)")
        #expect(bench.mock.rateLimitedRequests == 0, "429s: \(bench.mock.rateLimitedRequests) in \(elapsed) s")
        // 90 requests at 15/s together: about 6 s (each alone at 15/s: about 2 s).
        #expect(elapsed > 4.5, "\(elapsed) s")
        #expect(summaries.allSatisfy { $0.status == .ok })
    }

    /// A worker stopped mid-drain (Ctrl-C) gives back the IDs it claimed and did not store:
    /// another worker takes them at once, not when their lease lapses 15 minutes later.
    @Test func aStoppedWorkerGivesItsClaimsBack() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let bench = try await IngestBench.start(count: 200, faults: FaultPlan(latencyMilliseconds: 100))
        defer { Task { await bench.stop() } }
        let ids = (0 ..< bench.set.count).map(bench.set.threatId)
        try PostgresCluster.enqueue(ids, for: bench.mock.baseURL, into: provider)
        let options = try bench.options(concurrency: 2, source: .queue)
        let stop = StopRequest()
        Task {
            try? await Task.sleep(for: .milliseconds(600))
            stop.request()
        }
        let stopped = try await Ingester(options: options, store: provider).run(stop: stop)
        #expect(stopped.status == .aborted)
        #expect(stopped.counts.stored < 200)
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE lease_owner IS NOT NULL") == "0")
        let next = try await Ingester(options: options, store: provider).run(stop: StopRequest())
        #expect(next.counts.stored == 200 - stopped.counts.stored)
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == "200")
    }

    /// True once `condition` holds, looked at every 50 ms for at most 5 s.
    private func eventually(_ condition: () throws -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }
}
