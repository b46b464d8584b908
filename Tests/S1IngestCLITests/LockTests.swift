import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

#if canImport(Glibc)
import Glibc
#endif


/// Threats stored in `db`, read through a read-only connection (works while a writer runs).
/// Never waits on a lock (-1 when the file is not there or busy).
func storedThreats(_ db: String) -> Int {
    guard FileManager.default.fileExists(atPath: db),
          let database = try? Database(path: db, mode: .readOnly, busyTimeoutMilliseconds: 0),
          let value = try? database.scalar("SELECT count(*) FROM threats").integerValue else { return -1 }
    return Int(value)
}

@Suite(.serialized) struct LockTests {
    static let token = "cli-lock-token"

    func mock(count: Int, latency: Int) async throws -> (MockConsole, SyntheticAnalyses) {
        let set = SyntheticAnalyses(count: count, seed: 5)
        let console = try await MockConsole.start(MockConsoleConfiguration(analyses: set, token: Self.token,
                                                                           faults: FaultPlan(latencyMilliseconds: latency)))
        return (console, set)
    }

    func environment(_ console: MockConsole) -> [String: String] {
        ["S1_API_TOKEN": Self.token, "S1_CONSOLE_URL": console.baseURL]
    }

    @Test func aSecondWriterExitsFourAtOnceWhileASyncRuns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // Every response takes 3 s: the first sync holds the database for about 48 s, far longer
        // than the six second writers below take to start, even on a loaded machine.
        let (console, _) = try await mock(count: 30, latency: 3_000)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("nightly.sqlite")
        let env = environment(console)
        let first = try BackgroundRun.start(["sync", "--db", db, "--since", "2020-01-01", "--concurrency", "2"],
                                            environment: env, directory: directory, name: "first")
        let pid = first.process.processIdentifier
        #expect(await eventually { ((try? String(contentsOfFile: db + ".lock", encoding: .utf8)) ?? "").hasPrefix("pid \(pid),") })

        for arguments in [["sync", "--db", db], ["enqueue", "--db", db, "--ids", "-"], ["prune", "--db", db, "--older-than", "90d"],
                          ["ingest", "--db", db, "--queue"], ["import", "--db", db, "-"], ["migrate", "--db", db]] {
            let started = Date()
            let second = try await runBinary(arguments, stdin: Data("1311010474425970168\n".utf8), environment: env)
            #expect(second.status == 4, "\(arguments[0]): \(second.stderr)")
            // At once: not after the first sync (tens of seconds). Starting a process on a loaded
            // two-core machine has been seen to take 5 s, so the bound is loose.
            #expect(Date().timeIntervalSince(started) < 12, "\(arguments[0]) waited for the lock")
            #expect(second.stderr.contains("another s1ingest run (pid \(pid), started "), "\(second.stderr)")
            #expect(second.stderr.contains("is writing to \(db)"))
        }
        // Readers are not blocked.
        let runs = try await runBinary(["runs", "--db", db], environment: env)
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(first.process.isRunning, "the first sync should still be running")

        // SIGTERM: the first run stops (what is in flight is finished), exits 130, and unlocks.
        console.setFaults(FaultPlan())
        first.process.terminate()
        #expect(await first.wait() == 130, "\(first.stderr)")
        let next = try await runBinary(["sync", "--db", db], environment: env)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(storedThreats(db) == 30)
    }

    @Test func aLockLeftByAKilledSyncDoesNotBlockTheNextOneWhichMissesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 200, latency: 40)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("killed.sqlite")
        let env = environment(console)
        let victim = try BackgroundRun.start(["sync", "--db", db, "--since", "2020-01-01", "--concurrency", "2"],
                                             environment: env, directory: directory, name: "victim")
        #expect(await signal(SIGKILL, to: victim) { storedThreats(db) >= 1 })
        #expect(await victim.wait() == SIGKILL)
        let storedWhenKilled = try StoreOpener.openForReading(path: db).query("SELECT threat_id FROM threats").compactMap { $0[0].textValue }
        #expect(storedWhenKilled.count > 0 && storedWhenKilled.count < 200, "killed too late: \(storedWhenKilled.count)")
        // The lock file is still there and names the dead process.
        let left = try String(contentsOfFile: db + ".lock", encoding: .utf8)
        #expect(left.hasPrefix("pid \(victim.process.processIdentifier),"))

        console.setFaults(FaultPlan())
        let started = Date()
        let rerun = try await runBinary(["sync", "--db", db, "--json"], environment: env)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(Date().timeIntervalSince(started) < 8)
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT count(*) FROM threats").integerValue == 200)
        #expect(try database.scalar("SELECT count(DISTINCT threat_id) FROM threats").integerValue == 200)
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state <> 'done'").integerValue == 0)
        // Threats committed before the kill were not fetched again; every threat was fetched.
        for id in storedWhenKilled { #expect(console.requestCount(forThreat: id) == 1, "\(id) fetched again") }
        #expect((0..<set.count).allSatisfy { console.requestCount(forThreat: set.threatId($0)) >= 1 })
        let statuses = try database.query("SELECT status FROM ingest_runs ORDER BY run_id").map { $0[0].textValue ?? "" }
        #expect(statuses == ["aborted", "ok"])
        let watermark = try database.scalar("SELECT watermark FROM sync_state").textValue
        let latest = (0..<set.count).map { set.updatedAt($0) }.max()!
        #expect(watermark.map { $0.hasPrefix(String(latest.prefix(19))) } == true, "\(watermark ?? "nil") vs \(latest)")
    }
}
