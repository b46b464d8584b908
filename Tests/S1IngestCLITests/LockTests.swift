import Foundation
import S1IngestCore
import S1MockConsole
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starts the real binary in the background (output to files), for runs that must overlap.
struct BackgroundRun {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    static func start(_ arguments: [String], environment: [String: String], directory: TemporaryDirectory, name: String) throws -> BackgroundRun {
        let process = Process()
        process.executableURL = BinaryRunner.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "S1INGEST_DB")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = directory.path("\(name).out"), err = directory.path("\(name).err")
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return BackgroundRun(process: process, stdoutPath: out, stderrPath: err)
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to end (at most `seconds`) and returns its status.
    func wait(seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Threats stored in `db`, read through a read-only connection (works while a writer runs).
func storedThreats(_ db: String) -> Int {
    guard let database = try? StoreOpener.openForReading(path: db),
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
        let (console, _) = try await mock(count: 150, latency: 25)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("nightly.sqlite")
        let env = environment(console)
        let first = try BackgroundRun.start(["sync", "--db", db, "--since", "2020-01-01", "--concurrency", "2"],
                                            environment: env, directory: directory, name: "first")
        let pid = first.process.processIdentifier
        #expect(eventually { ((try? String(contentsOfFile: db + ".lock", encoding: .utf8)) ?? "").hasPrefix("pid \(pid),") })
        #expect(eventually { storedThreats(db) > 0 })

        for arguments in [["sync", "--db", db], ["enqueue", "--db", db, "--ids", "-"], ["prune", "--db", db, "--older-than", "90d"],
                          ["ingest", "--db", db, "--queue"]] {
            let started = Date()
            let second = try BinaryRunner.run(arguments, stdin: Data("1311010474425970168\n".utf8), environment: env)
            #expect(second.status == 4, "\(arguments[0]): \(second.stderr)")
            #expect(Date().timeIntervalSince(started) < 3, "\(arguments[0]) waited for the lock")
            #expect(second.stderr.contains("another s1ingest run (pid \(pid), started "), "\(second.stderr)")
            #expect(second.stderr.contains("is writing to \(db)"))
        }
        // Readers are not blocked.
        let runs = try BinaryRunner.run(["runs", "--db", db], environment: env)
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(first.process.isRunning, "the first sync should still be running (make the mock slower)")

        #expect(first.wait() == 0, "\(first.stderr)")
        #expect(storedThreats(db) == 150)
        // Once it is over, the next run goes ahead.
        let next = try BinaryRunner.run(["sync", "--db", db], environment: env)
        #expect(next.status == 0, "\(next.stderr)")
    }

    @Test func aLockLeftByAKilledSyncDoesNotBlockTheNextOneWhichMissesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 200, latency: 20)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("killed.sqlite")
        let env = environment(console)
        let victim = try BackgroundRun.start(["sync", "--db", db, "--since", "2020-01-01", "--concurrency", "2"],
                                             environment: env, directory: directory, name: "victim")
        #expect(eventually { storedThreats(db) >= 20 })
        kill(victim.process.processIdentifier, SIGKILL)
        #expect(victim.wait() != 0)
        let storedWhenKilled = storedThreats(db)
        #expect(storedWhenKilled > 0 && storedWhenKilled < 200, "killed too late: \(storedWhenKilled)")
        // The lock file is still there and names the dead process.
        let left = try String(contentsOfFile: db + ".lock", encoding: .utf8)
        #expect(left.hasPrefix("pid \(victim.process.processIdentifier),"))

        console.setFaults(FaultPlan())
        let started = Date()
        let rerun = try BinaryRunner.run(["sync", "--db", db, "--json"], environment: env)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(Date().timeIntervalSince(started) < 8)
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT count(*) FROM threats").integerValue == 200)
        #expect(try database.scalar("SELECT count(DISTINCT threat_id) FROM threats").integerValue == 200)
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state <> 'done'").integerValue == 0)
        // Threats stored before the kill were not fetched again (at most those in flight were).
        let refetched = (0..<set.count).filter { console.requestCount(forThreat: set.threatId($0)) > 1 }.count
        #expect(refetched <= 4)
        let statuses = try database.query("SELECT status FROM ingest_runs ORDER BY run_id").map { $0[0].textValue ?? "" }
        #expect(statuses == ["aborted", "ok"])
        let watermark = try database.scalar("SELECT watermark FROM sync_state").textValue
        let latest = (0..<set.count).map { set.updatedAt($0) }.max()!
        #expect(watermark.map { $0.hasPrefix(String(latest.prefix(19))) } == true, "\(watermark ?? "nil") vs \(latest)")
    }
}
