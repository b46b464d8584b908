import Foundation
import Testing
import S1MockConsole
import S1Testing

/// Real `s1ingest ingest --queue` processes on one PostgreSQL queue, one SIGKILLed mid-batch.
@Suite(.serialized, .cpuExclusive) struct PostgresWorkerCrashTests {
    static let token = "pg-crash-token-0123456789"

    @Test func aWorkerKilledMidBatchLosesNothingAndTheOthersFinishItsWork() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // 25 ms a response at concurrency 8: each worker runs for seconds, so the kill lands mid-run.
        let (console, set) = try await startMock(count: 1500, seed: 9, token: Self.token, faults: FaultPlan(latencyMilliseconds: 25))
        defer { Task { try? await console.shutdown() } }
        let url = cluster.url(database)
        let ids = try writeIDFile(set, in: directory)
        var environment = cluster.environment
        environment["S1_API_TOKEN"] = Self.token
        let enqueue = try await runBinary(["enqueue", "--db", url, "--console", console.baseURL, "--ids", ids], environment: environment)
        #expect(enqueue.status == 0, "\(enqueue.stderr)")
        @Sendable func done() -> Int { Int((try? cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done'")) ?? "") ?? 0 }

        // Two workers; the first is killed once some of its batches are committed. Its claims
        // come back when its lease (3 s here) lapses.
        var killedEnvironment = environment
        killedEnvironment["S1INGEST_PG_LEASE_SECONDS"] = "3"
        let arguments = ["ingest", "--db", url, "--console", console.baseURL, "--queue", "--concurrency", "8"]
        let killed = try BackgroundRun.start(arguments, environment: killedEnvironment, directory: directory, name: "killed")
        let other = try BackgroundRun.start(arguments, environment: environment, directory: directory, name: "other")
        #expect(await signal(SIGKILL, to: killed) { done() >= 300 }, "no progress: \(killed.stderr)")
        #expect(await killed.wait() == SIGKILL)
        #expect(await other.wait(seconds: 60) == 0, "the other worker: \(other.stderr)")
        // What the killed worker had claimed and not stored: back in the pool after its lease.
        try await Task.sleep(for: .seconds(3))
        let last = try await runBinary(arguments, environment: environment)
        #expect(last.status == 0, "\(last.stderr)")

        // Every analysis stored once and whole; nothing of the killed batch half-written.
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == "1500")
        #expect(try cluster.psql(database, "SELECT count(*) FROM raw_analyses") == "1500")
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats WHERE threat_id NOT IN (SELECT threat_id FROM mitigations)") == "0")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done' AND lease_owner IS NULL") == "1500")
        // The killed worker's run is closed as aborted by a later run; the others are ok.
        let statuses = try cluster.psql(database, "SELECT string_agg(status, ',' ORDER BY status) FROM ingest_runs WHERE command = 'ingest'")
        #expect(statuses == "aborted,ok,ok", "\(statuses)")
        #expect(!killed.stderr.contains(Self.token) && !other.stderr.contains(Self.token) && !last.stderr.contains(Self.token))
    }

    /// Four worker processes whose threats share agents (ten threats each, 50 ms a response, as
    /// `scripts/bench-workers.sh`): the first batches of every worker write the same agent rows,
    /// each in its own order. Before agent rows were written at commit, one writer at a time,
    /// two batches could each hold an agent the other wanted: "deadlock detected", a worker
    /// failed (two of three benchmark runs).
    @Test func fourWorkersWhoseThreatsShareAgentsAllFinish() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await startMock(count: 2000, seed: 1, token: Self.token, faults: FaultPlan(latencyMilliseconds: 50))
        defer { Task { try? await console.shutdown() } }
        let url = cluster.url(database)
        var environment = cluster.environment
        environment["S1_API_TOKEN"] = Self.token
        let enqueue = try await runBinary(["enqueue", "--db", url, "--console", console.baseURL, "--ids", try writeIDFile(set, in: directory)],
                                          environment: environment)
        #expect(enqueue.status == 0, "\(enqueue.stderr)")
        let arguments = ["ingest", "--db", url, "--console", console.baseURL, "--queue", "--concurrency", "8"]
        let workers = try (0 ..< 4).map { try BackgroundRun.start(arguments, environment: environment, directory: directory, name: "w\($0)") }
        for worker in workers {
            #expect(await worker.wait(seconds: 90) == 0, "\(worker.stderr)")
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == "2000")
        #expect(try cluster.psql(database, "SELECT count(*) FROM agents") == "200")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done'") == "2000")
    }
}
