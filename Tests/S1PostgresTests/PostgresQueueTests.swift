import Foundation
import Testing
import S1IngestCore
import S1Testing

/// One queue, many workers: pages are claimed with FOR UPDATE SKIP LOCKED and a lease.
@Suite(.serialized) struct PostgresQueueTests {
    /// A mark goes out with the writer's next flush, inside the open batch: rolled back with
    /// it, committed with it, the same row whether many marks wait (a flush every 1,000).
    @Test func marksGoWithTheirBatch() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let store = try cluster.provider(database).openForWriting()
        let ids = (0 ..< 2_500).map { String(1_311_010_474_425_970_168 + $0 * 7) }
        try store.enqueue(ids, console: ConsoleRef.defaultName, runId: nil)
        func done() throws -> String { try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done'") }
        try store.beginBatch()
        for id in ids { try store.markDone(id, attempts: 2, runId: nil, at: currentTimestamp()) }
        store.rollbackBatch()
        #expect(try done() == "0")
        try store.beginBatch()
        for id in ids { try store.markDone(id, attempts: 2, runId: nil, at: "2030-01-02T03:04:05.000000Z") }
        try store.commitBatch()
        #expect(try done() == "2500")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE attempts = 2 AND last_status = 200 AND updated_at = '2030-01-02T03:04:05Z'") == "2500")
    }

    @Test func workersDrainingOneQueueGetEachIdOnce() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let store = try provider.openForWriting()
        let ids = (0 ..< 2_000).map { String(1_311_010_474_425_970_168 + $0 * 7) }
        try store.enqueue(ids, console: ConsoleRef.defaultName, runId: nil)
        #expect(try store.queueCount(.drain(console: ConsoleRef.defaultName), now: currentTimestamp()) == 2_000)

        let claimed = ClaimLog()
        // All four connect before any claims (else, on a busy machine, the first can drain the
        // queue while the others are still connecting), and each holds its page a moment, as
        // a fetch would: the others must claim theirs meanwhile, past its locks.
        let startLine = StartLine(workers: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let workerStore: any Store
                do {
                    workerStore = try provider.openForWriting()
                } catch {
                    startLine.arrive()
                    throw error
                }
                startLine.arriveAndWait()
                let pager = try workerStore.queuePages(.drain(console: ConsoleRef.defaultName), now: currentTimestamp())
                while true {
                    let page = try pager.next(limit: 37)
                    if page.isEmpty { break }
                    claimed.add(worker, page)
                    Thread.sleep(forTimeInterval: 0.005)
                    try workerStore.beginBatch()
                    for id in page { try workerStore.markDone(id, attempts: 1, runId: nil, at: currentTimestamp()) }
                    try workerStore.commitBatch()
                }
            } catch {
                claimed.fail("\(error)")
            }
        }
        #expect(claimed.errors.isEmpty, "\(claimed.errors)")
        #expect(claimed.all.count == 2_000, "an ID was handed out twice, or lost")
        #expect(Set(claimed.all) == Set(ids))
        #expect(claimed.workers.count > 1, "one worker took everything: the others were blocked")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done' AND lease_owner IS NULL") == "2000")
    }

    @Test func aDeadWorkersIdsReturnWhenItsLeaseLapses() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let store = try provider.openForWriting()
        try store.enqueue((0 ..< 10).map { "10\($0)" }, console: ConsoleRef.defaultName, runId: nil)
        // Worker A claims five and dies (never marks them).
        let first = try store.queuePages(.drain(console: ConsoleRef.defaultName), now: currentTimestamp()).next(limit: 5)
        #expect(first.count == 5)
        // Worker B sees only the other five while A's lease runs.
        let second = try store.queuePages(.drain(console: ConsoleRef.defaultName), now: currentTimestamp()).next(limit: 100)
        #expect(Set(second).isDisjoint(with: first) && second.count == 5)
        // A's lease lapses: its IDs come back.
        try cluster.psql(database, "UPDATE ingest_queue SET lease_expires_at = now() - interval '1 second' WHERE threat_id IN (\(first.map { "'\($0)'" }.joined(separator: ",")))")
        let third = try store.queuePages(.drain(console: ConsoleRef.defaultName), now: currentTimestamp()).next(limit: 100)
        #expect(third == first)
        let owners = try cluster.psql(database, "SELECT count(DISTINCT lease_owner) FROM ingest_queue")
        #expect(owners == "2")
    }

    @Test func runRecordsAndWatermarksRoundTrip() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let store = try provider.openForWriting()
        let runId = try store.startRun(command: "ingest", source: "ids.txt", console: ConsoleRef(name: "acme", url: "https://acme.example"))
        var counts = RunCounts()
        counts.requested = 5
        counts.stored = 4
        counts.failed = 1
        counts.conflicts = 2
        try store.finishRun(runId, status: .partial, counts: counts, message: "1 failed")
        try store.recordPacing(runId, console: "https://acme.example", pacing: RunPacing(pace: 9.5, budget: 12, rateLimited: 3))
        let records = try provider.openForReading()
        let run = try #require(try records.recentRuns(limit: 5, console: "acme").first)
        #expect(run.runId == runId && run.status == .partial && run.counts == counts && run.console == "acme")
        #expect(run.consoleURL == "https://acme.example")
        #expect(try records.recentRuns(limit: 5, console: "other").isEmpty)
        #expect(run.endedAt?.hasSuffix("Z") == true && run.startedAt.count == 27)
        #expect(records.learnedPace(console: "https://acme.example") == 12)
        #expect(records.runPacing([runId])[runId] == RunPacing(pace: 9.5, budget: 12, rateLimited: 3))
        #expect(records.lastSuccess(command: "ingest", console: "https://acme.example") == run.endedAt)

        #expect(try store.advanceWatermark(key: "https://acme.example", console: "acme", to: "2026-01-02T03:04:05.123456Z", runId: runId))
        #expect(try !store.advanceWatermark(key: "https://acme.example", console: "acme", to: "2025-01-01T00:00:00.000000Z", runId: runId))
        #expect(try store.watermark(key: "https://acme.example") == "2026-01-02T03:04:05.123456Z")
        #expect(try records.watermarks().map(\.console) == ["acme"])

        // A run whose process still holds its lock is not abandoned; one whose process died is.
        let live = try store.startRun(command: "ingest", source: "queue", console: nil)
        try cluster.psql(database, "INSERT INTO ingest_runs (command, source, started_at, status, version) VALUES ('ingest', 'queue', now(), 'running', 'x')")
        let other = try provider.openForWriting()
        try other.closeAbandonedRuns()
        let statuses = try cluster.psql(database, "SELECT string_agg(status, ',' ORDER BY run_id) FROM ingest_runs WHERE run_id >= \(live)")
        #expect(statuses == "running,aborted")
    }
}

/// Workers wait here until all have arrived (or 30 s have passed: a worker that failed to get
/// there does not hang the test).
final class StartLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int
    init(workers: Int) { waiting = workers }
    func arrive() {
        condition.lock()
        waiting -= 1
        condition.broadcast()
        condition.unlock()
    }
    func arriveAndWait() {
        arrive()
        let deadline = Date().addingTimeInterval(30)
        condition.lock()
        while waiting > 0, condition.wait(until: deadline) {}
        condition.unlock()
    }
}

final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    private var byWorker: Set<Int> = []
    private var failures: [String] = []
    func add(_ worker: Int, _ page: [String]) { lock.withLock { ids += page; byWorker.insert(worker) } }
    func fail(_ message: String) { lock.withLock { failures.append(message) } }
    var all: [String] { lock.withLock { ids } }
    var workers: Set<Int> { lock.withLock { byWorker } }
    var errors: [String] { lock.withLock { failures } }
}
