import Foundation
import Testing
import S1IngestCore
import S1Testing
import S1MockConsole

#if canImport(Glibc)
import Glibc
#endif

/// Threats marked done in the queue, read through a separate read-only connection.
func doneCount(_ db: String) -> Int {
    guard let database = try? Database(path: db, mode: .readOnly),
          let value = try? database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'done'") else { return 0 }
    return Int(value.integerValue ?? 0)
}

@Suite(.serialized) struct IngestCommandTests {
    static let token = "cli-secret-token-0123456789"

    func mock(count: Int, faults: FaultPlan = FaultPlan()) async throws -> (MockConsole, SyntheticAnalyses) {
        try await startMock(count: count, seed: 5, token: Self.token, faults: faults)
    }

    func idFile(_ set: SyntheticAnalyses, in directory: TemporaryDirectory) throws -> String {
        try writeIDFile(set, in: directory)
    }

    @Test func killedAtAnyMomentThenResumedStoresEveryAnalysisOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // 25 ms a response at concurrency 8 is at most ~320 analyses/s, so each run lasts
        // seconds and the kills land mid-run even when the poll below is starved of CPU.
        let (console, set) = try await mock(count: 1500, faults: FaultPlan(latencyMilliseconds: 25))
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("crash.sqlite")
        let ids = try idFile(set, in: directory)
        let environment = ["S1_API_TOKEN": Self.token]
        // Kill the first run part-way, then kill a --queue run part-way too.
        let first = try BackgroundRun.start(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids, "--concurrency", "8"],
                                      environment: environment, directory: directory, name: "first")
        #expect(await signal(SIGKILL, to: first) { doneCount(db) >= 200 }, "the first run made no progress: \(first.stderr)")
        #expect(await first.wait() == SIGKILL)
        let afterFirst = doneCount(db)
        #expect(afterFirst < 1500)
        // Its record, still `running`, counts what it committed: the counts are written in each commit.
        let recorded = try Database(path: db, mode: .readOnly).scalar("SELECT stored FROM ingest_runs WHERE run_id = 1")
        #expect(recorded == .integer(Int64(afterFirst)), "recorded \(recorded), committed \(afterFirst)")
        let second = try BackgroundRun.start(["ingest", "--db", db, "--console", console.baseURL, "--queue"],
                                       environment: environment, directory: directory, name: "second")
        #expect(await signal(SIGKILL, to: second) { doneCount(db) >= afterFirst + 200 || second.process.isRunning == false })
        _ = await second.wait()
        let resumed = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--queue", "--json"], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")

        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("PRAGMA integrity_check") == "ok")
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
        #expect(try database.scalar("SELECT count(*) FROM threats") == .integer(1500))
        #expect(try database.scalar("SELECT count(*) FROM raw_analyses") == .integer(1500))
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'done'") == .integer(1500))
        // Each threat's mitigations exactly as in its analysis: nothing doubled by the re-runs.
        let mitigations = (0..<1500).reduce(0) { $0 + set.mitigationCount($1) }
        #expect(try database.scalar("SELECT count(*) FROM mitigations") == .integer(Int64(mitigations)))
        let statuses = try database.query("SELECT status FROM ingest_runs ORDER BY run_id").compactMap { $0.first?.textValue }
        #expect(statuses == ["aborted", "aborted", "ok"])
    }

    @Test func sigintFinishesInFlightPrintsTheSummaryAndExits130() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 2000, faults: FaultPlan(latencyMilliseconds: 20))
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("int.sqlite")
        let run = try BackgroundRun.start(["ingest", "--db", db, "--console", console.baseURL, "--ids", try idFile(set, in: directory)],
                                    environment: ["S1_API_TOKEN": Self.token], directory: directory, name: "int")
        #expect(await signal(SIGINT, to: run) { doneCount(db) >= 50 })
        #expect(await run.wait() == 130)
        #expect(run.stdout.contains(": aborted in"))
        #expect(run.stderr.contains("stopping"))
        let database = try StoreOpener.openForReading(path: db)
        let stored = try database.scalar("SELECT count(*) FROM threats").integerValue ?? -1
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'done'").integerValue == stored)
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'pending'").integerValue == 2000 - stored)
        #expect(try database.scalar("SELECT status FROM ingest_runs") == "aborted")
    }

    /// stderr is a pipe here, as under cron or systemd: progress comes as log lines (no
    /// rewriting line), and `--quiet` leaves only the summary, on stdout.
    @Test func progressIsLoggedOffATerminalAndQuietLeavesOnlyTheSummary() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // 100 IDs, 25 ms each, 2 at a time: more than a second, so at least one progress event.
        let (console, set) = try await mock(count: 100, faults: FaultPlan(latencyMilliseconds: 25))
        defer { Task { try? await console.shutdown() } }
        let ids = try idFile(set, in: directory)
        let environment = ["S1_API_TOKEN": Self.token]
        func ingest(_ name: String, _ extra: [String]) async throws -> BinaryRunner.Result {
            try await runBinary(["ingest", "--db", directory.path("\(name).sqlite"), "--console", console.baseURL, "--ids", ids,
                                 "--concurrency", "2"] + extra, environment: environment)
        }

        let logged = try await ingest("logged", [])
        #expect(logged.status == 0, "\(logged.stderr)")
        let progress = logged.stderr.split(separator: "\n").filter { $0.contains(" progress ") }
        #expect(!progress.isEmpty, "no progress event: \(logged.stderr)")
        #expect(progress.allSatisfy { $0.contains("done=") && $0.contains("total=100") && $0.contains("rate=") })
        #expect(!logged.stderr.contains("\r"), "a rewriting progress line went to a pipe")
        #expect(logged.stdout.contains("stored     100"))

        let json = try await ingest("json", ["--log-format", "json"])
        #expect(json.status == 0)
        let events = json.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(!events.isEmpty)
        let objects = events.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(objects.count == events.count, "not one JSON object per line: \(json.stderr)")
        #expect(objects.contains { ($0["message"] as? String) == "progress" }, "no progress event: \(json.stderr)")

        let quiet = try await ingest("quiet", ["--quiet"])
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty, "--quiet still wrote: \(quiet.stderr)")
        #expect(quiet.stdout.contains("stored     100"))
        #expect(doneCount(directory.path("quiet.sqlite")) == 100)
    }

    @Test func exitCodesAndMessages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 6)
        defer { Task { try? await console.shutdown() } }
        let ids = try idFile(set, in: directory)
        let db = directory.path("codes.sqlite")

        let ok = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids], environment: ["S1_API_TOKEN": Self.token])
        #expect(ok.status == 0, "\(ok.stderr)")

        // The token from a file works too, and is never printed.
        let tokenFile = directory.path("token")
        try (Self.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let fromFile = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids, "--token-file", tokenFile])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")

        let badToken = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids],
                                            environment: ["S1_API_TOKEN": "wrong-\(Self.token)"])
        #expect(badToken.status == 3)
        #expect(badToken.stderr.contains("check the API token"))
        #expect(!(badToken.stdout + badToken.stderr).contains(Self.token))

        console.setFaults(FaultPlan(notFoundIDs: [set.threatId(2)]))
        let partial = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids, "--json"],
                                           environment: ["S1_API_TOKEN": Self.token])
        #expect(partial.status == 1)
        let summary = try JSONSerialization.jsonObject(with: Data(partial.stdout.utf8)) as? [String: Any]
        #expect(summary?["not_found"] as? Int == 1)
        #expect(summary?["status"] as? String == "partial")
        let queue = try await runBinary(["queue", "--db", db])
        #expect(queue.stdout.contains("not_found  1"))
        #expect(queue.stdout.contains("done       5"))

        let unreachable = try await runBinary(["ingest", "--db", db, "--console", "http://127.0.0.1:9", "--ids", ids,
                                                "--connect-timeout", "1", "--concurrency", "2"], environment: ["S1_API_TOKEN": Self.token])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.contains("cannot reach the console"))

        let usage = try await runBinary(["ingest", "--db", db, "--ids", ids, "--queue"], environment: ["S1_API_TOKEN": Self.token])
        #expect(usage.status == 64)
        let insecure = try await runBinary(["ingest", "--db", db, "--console", "http://s1.example.com", "--ids", ids],
                                            environment: ["S1_API_TOKEN": Self.token])
        #expect(insecure.status == 2)
        #expect(insecure.stderr.contains("--allow-insecure-http"))
        let noToken = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--ids", ids])
        #expect(noToken.status == 2)
        #expect(noToken.stderr.contains("S1_API_TOKEN"))

        let runs = try await runBinary(["runs", "--db", db])
        #expect(runs.status == 0)
        #expect(runs.stdout.contains("partial"))
        // The unreachable run put the IDs back to pending and left them there.
        #expect(try await runBinary(["queue", "--db", db]).stdout.contains("pending    6"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db))
        #expect(bytes.range(of: Data(Self.token.utf8)) == nil)
    }

    @Test func enqueuedIdsAreFetchedByIngestQueue() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 3)
        defer { Task { try? await console.shutdown() } }
        let ids = directory.path("ids.txt")
        try "\u{FEFF}# nightly list\r\n\(set.threatId(0))\r\nnot-an-id\n  \(set.threatId(1))  \n\n\(set.threatId(2))\n\(set.threatId(0))\n"
            .write(toFile: ids, atomically: true, encoding: .utf8)
        let db = directory.path("q.sqlite")
        let enqueue = try await runBinary(["enqueue", "--db", db, "--ids", ids])
        #expect(enqueue.status == 1, "a bad line is a partial success: \(enqueue.stderr)")
        #expect(enqueue.stderr.contains("ids.txt:3"), "\(enqueue.stderr)")
        #expect(enqueue.stdout.contains("enqueued 3 IDs for console default (1 duplicates, 1 bad lines skipped)"), "\(enqueue.stdout)")
        #expect(console.analysisRequests == 0)
        #expect(try await runBinary(["queue", "--db", db]).stdout.contains("pending    3"))

        let drain = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--queue"],
                                        environment: ["S1_API_TOKEN": Self.token])
        #expect(drain.status == 0, "\(drain.stderr)")
        #expect(console.analysisRequests == 3)
        #expect(try await runBinary(["queue", "--db", db]).stdout.contains("done       3"))
        #expect(doneCount(db) == 3)
        // Drained: a second run has nothing to do and makes no request.
        let again = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--queue"],
                                        environment: ["S1_API_TOKEN": Self.token])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(console.analysisRequests == 3)
    }

    /// A new database and a console by its URL: `enqueue --console URL` records the console
    /// (as `ingest` would name it), so workers started with that URL drain what was queued.
    @Test func enqueueForAConsoleNotSeenYetByItsURL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 2)
        defer { Task { try? await console.shutdown() } }
        let ids = directory.path("ids.txt")
        try "\(set.threatId(0))\n\(set.threatId(1))\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let db = directory.path("new.sqlite")
        let enqueue = try await runBinary(["enqueue", "--db", db, "--ids", ids, "--console", console.baseURL])
        #expect(enqueue.status == 0, "\(enqueue.stderr)")
        #expect(enqueue.stdout.contains("enqueued 2 IDs for console default"), "\(enqueue.stdout)")
        let drain = try await runBinary(["ingest", "--db", db, "--console", console.baseURL, "--queue"],
                                        environment: ["S1_API_TOKEN": Self.token])
        #expect(drain.status == 0, "\(drain.stderr)")
        #expect(doneCount(db) == 2)
        // A name that is not stored is still an error (a typo must not make a console).
        let typo = try await runBinary(["enqueue", "--db", db, "--ids", ids, "--console", "wset"])
        #expect(typo.status == 64, "\(typo.stderr)")
    }

    @Test func badIdFileLinesAreReportedWithLineNumbers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 2)
        defer { Task { try? await console.shutdown() } }
        let ids = directory.path("ids.txt")
        try "\(set.threatId(0))\nDROP TABLE threats;\n\(set.threatId(1))\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let result = try await runBinary(["ingest", "--db", directory.path("b.sqlite"), "--console", console.baseURL, "--ids", ids],
                                          environment: ["S1_API_TOKEN": Self.token])
        #expect(result.status == 1)
        #expect(result.stderr.contains("ids.txt:2"))
        #expect(console.analysisRequests == 2)
        let missing = try await runBinary(["ingest", "--db", directory.path("b.sqlite"), "--console", console.baseURL, "--ids", directory.path("nope")],
                                           environment: ["S1_API_TOKEN": Self.token])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope"))
    }

    @Test func demoRunsTheRealPipelineAgainstTheBuiltInConsole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("demo.sqlite")
        let result = try await runBinary(["demo", "--db", db, "--threats", "120"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored     120"))
        #expect(result.stdout.contains("Try it:"))
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT count(*) FROM threats") == .integer(120))
        #expect(try database.scalar("SELECT command || ':' || status FROM ingest_runs") == "demo:ok")
    }
}
