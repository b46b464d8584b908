import Foundation
import Testing
import S1IngestCore
import S1Testing
import S1MockConsole

#if canImport(Glibc)
import Glibc
#endif

/// The real binary as a nightly job meets trouble: a stop while the console hangs or is
/// gone, a console that cannot be reached, a database that fills up.
@Suite(.serialized, .cpuExclusive) struct UnattendedCommandTests {
    static let token = "cli-unattended-token-0123456789"

    func mock(count: Int, faults: FaultPlan = FaultPlan()) async throws -> (MockConsole, SyntheticAnalyses) {
        try await startMock(count: count, seed: 9, token: Self.token, faults: faults)
    }

    func idFile(_ set: SyntheticAnalyses, in directory: TemporaryDirectory) throws -> String {
        try writeIDFile(set, in: directory)
    }

    /// A loopback URL on which nothing listens.
    func closedPortURL() async throws -> String {
        ClosedPort.url()
    }

    func elapsed(since start: Date) -> Double { Date().timeIntervalSince(start) }

    @Test func sigtermWhileEveryRequestHangsExitsWithin15SecondsAndRecordsTheRun() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 200, faults: FaultPlan(everyRequest: .slowResponse(milliseconds: 120_000)))
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("hang.sqlite")
        let run = try BackgroundRun.start(["ingest", "--db", db, "--console", console.baseURL, "--ids", try idFile(set, in: directory),
                                           "--concurrency", "4", "--request-timeout", "300", "--read-timeout", "300", "--json"],
                                          environment: ["S1_API_TOKEN": Self.token], directory: directory, name: "hang")
        #expect(await signal(SIGTERM, to: run) { console.inFlight == 4 }, "no request reached the console: \(run.stderr)")
        let sent = Date()
        let status = await run.wait(seconds: 30)
        let took = elapsed(since: sent)
        #expect(status == 130, "status \(String(describing: status)): \(run.stderr)")
        #expect(took < 15, "SIGTERM took \(took) s")
        #expect(run.stderr.contains("stopping"))
        #expect(run.stdout.contains("\"status\":\"aborted\""), "\(run.stdout)")
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT status FROM ingest_runs") == .text("aborted"))
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'pending'") == .integer(200))
    }

    @Test func sigtermWhileTheListingHangsExitsWithin15Seconds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, _) = try await mock(count: 20, faults: FaultPlan(everyRequest: .slowResponse(milliseconds: 120_000)))
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("list.sqlite")
        let run = try BackgroundRun.start(["sync", "--db", db, "--console", console.baseURL, "--request-timeout", "300", "--json"],
                                          environment: ["S1_API_TOKEN": Self.token], directory: directory, name: "list")
        #expect(await signal(SIGTERM, to: run) { console.listRequests >= 1 }, "the listing never started: \(run.stderr)")
        let sent = Date()
        let status = await run.wait(seconds: 30)
        #expect(status == 130, "status \(String(describing: status)): \(run.stderr)")
        #expect(elapsed(since: sent) < 15)
        #expect(run.stdout.contains("\"status\":\"aborted\""), "\(run.stdout)")
    }

    @Test func sigintWhileTheConsoleIsUnreachableExitsAtOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let url = try await closedPortURL()
        let set = SyntheticAnalyses(count: 2000, seed: 9)
        let db = directory.path("gone.sqlite")
        let run = try BackgroundRun.start(["ingest", "--db", db, "--console", url, "--ids", try idFile(set, in: directory),
                                           "--concurrency", "2"],
                                          environment: ["S1_API_TOKEN": Self.token], directory: directory, name: "gone")
        #expect(await signal(SIGINT, to: run) { run.stderr.contains("stopping") || Self.runRecorded(db) })
        let sent = Date()
        let status = await run.wait(seconds: 30)
        #expect(status == 130, "status \(String(describing: status)): \(run.stderr)")
        #expect(elapsed(since: sent) < 5)
    }

    /// True once the run's record exists (the run is under way).
    static func runRecorded(_ db: String) -> Bool {
        guard let database = try? Database(path: db, mode: .readOnly),
              let value = try? database.scalar("SELECT count(*) FROM ingest_runs") else { return false }
        return value.integerValue ?? 0 > 0
    }

    @Test func aClosedPortIsGivenUpOnWithin30SecondsWithOneMessageAndProgress() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let url = try await closedPortURL()
        let set = SyntheticAnalyses(count: 30, seed: 9)
        let db = directory.path("closed.sqlite")
        let started = Date()
        let result = try await runBinary(["ingest", "--db", db, "--console", url, "--ids", try idFile(set, in: directory),
                                          "--log-format", "text"], environment: ["S1_API_TOKEN": Self.token])
        let took = elapsed(since: started)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(took < 30, "gave up after \(took) s")
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("s1ingest: error: ") }
        #expect(errors.count == 1, "\(result.stderr)")
        #expect(errors.first?.contains("cannot reach the console at \(url)") == true && errors.first?.contains("connection refused") == true)
        // Progress while nothing succeeds: the retries and the last error.
        let progress = result.stderr.split(separator: "\n").filter { $0.contains(" info progress ") }
        #expect(progress.contains { $0.contains("last_error=") && $0.contains("connection refused") }, "\(result.stderr)")
        #expect(!result.stderr.contains(".cc:") && !result.stderr.contains(".swift:"), "\(result.stderr)")
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.scalar("SELECT count(*) FROM ingest_queue WHERE state = 'pending'") == .integer(30))
        #expect(try database.scalar("SELECT status FROM ingest_runs") == .text("failed"))
    }

    @Test func httpsToAPlainPortGivesUpWithAPlainTLSMessage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 10)
        defer { Task { try? await console.shutdown() } }
        let url = console.baseURL.replacingOccurrences(of: "http://", with: "https://")
        let started = Date()
        let result = try await runBinary(["sync", "--db", directory.path("tls.sqlite"), "--console", url],
                                         environment: ["S1_API_TOKEN": Self.token])
        _ = set
        #expect(result.status == 2, "\(result.stderr)")
        #expect(elapsed(since: started) < 30)
        #expect(result.stderr.contains("did not answer with TLS"), "\(result.stderr)")
        #expect(!result.stderr.contains("BoringSSL") && !result.stderr.contains(".cc:") && !result.stderr.contains(" at /"),
                "\(result.stderr)")
        #expect(console.analysisRequests == 0)
    }

    @Test func aHostThatDoesNotResolveIsGivenUpOnWithin30Seconds() async throws {
        // In a network namespace of its own (nothing but a down loopback), so no lookup
        // leaves the machine.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), getuid() == 0 else { return }
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let started = Date()
        let result = try await runBinary(["sync", "--db", directory.path("dns.sqlite"), "--console", "https://nonexistent.invalid"],
                                         environment: ["S1_API_TOKEN": Self.token], launcher: ["/usr/bin/unshare", "-n"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(elapsed(since: started) < 30)
        #expect(result.stderr.contains("cannot reach the console at https://nonexistent.invalid"), "\(result.stderr)")
        #expect(result.stderr.contains("does not resolve"), "\(result.stderr)")
    }

    @Test func aFullDiskFailsTheRunRecordsWhyAndStillPrintsTheJSONSummary() async throws {
        // An 8 MiB tmpfs in a mount namespace of the run's own: the analyses fill it (a fresh
        // database with its queue of 3000 IDs and their WAL take about 5 MiB, so the run starts). The
        // failure cannot be written into a full database; the next run, with room again,
        // records it from the note left in the lock file.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), getuid() == 0 else { return }
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await mock(count: 3000)
        defer { Task { try? await console.shutdown() } }
        let ids = try idFile(set, in: directory)
        let mountPoint = directory.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let db = mountPoint + "/full.sqlite"
        let binary = BinaryRunner.executable.path
        let script = """
            set -u
            mount -t tmpfs -o size=8m tmpfs '\(mountPoint)' || exit 99
            '\(binary)' ingest --db '\(db)' --console '\(console.baseURL)' --ids '\(ids)' --json > '\(directory.path("full.json"))'
            echo "exit=$?" > '\(directory.path("full.exit"))'
            # Room again: the next run records why the first one failed, and stores the rest.
            mount -o remount,size=256m '\(mountPoint)' || exit 98
            '\(binary)' ingest --db '\(db)' --console '\(console.baseURL)' --queue --quiet > /dev/null
            echo "exit=$?" >> '\(directory.path("full.exit"))'
            '\(binary)' runs --db '\(db)' --json > '\(directory.path("runs.json"))'
            '\(binary)' query --db '\(db)' 'SELECT count(*) FROM threats' > '\(directory.path("count.txt"))'
            """
        // `sh -c SCRIPT s1ingest`: the binary's path is only the script's $0.
        let result = try await runBinary([], environment: ["S1_API_TOKEN": Self.token],
                                         launcher: ["/usr/bin/unshare", "-m", "/bin/sh", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let exit = (try? String(contentsOfFile: directory.path("full.exit"), encoding: .utf8)) ?? ""
        #expect(exit.contains("exit=2"), "\(exit) \(result.stderr)")
        let summary = (try? String(contentsOfFile: directory.path("full.json"), encoding: .utf8)) ?? ""
        #expect(summary.contains("\"status\":\"failed\"") && summary.contains("database write failed"), "summary: \(summary)")
        let runs = (try? String(contentsOfFile: directory.path("runs.json"), encoding: .utf8)) ?? ""
        #expect(runs.contains("\"status\":\"failed\"") && runs.contains("database write failed"), "runs: \(runs) \(result.stderr)")
        #expect(!runs.contains("killed or crashed"))
        #expect(exit.contains("exit=0"), "the run after: \(exit)")
        let count = (try? String(contentsOfFile: directory.path("count.txt"), encoding: .utf8)) ?? ""
        #expect(count.contains("3000"), "\(count)")
    }
}
