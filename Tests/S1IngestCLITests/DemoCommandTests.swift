import Foundation
import S1IngestCore
import S1Testing
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The first ten minutes: the demo's data looks like a console's and the demo says how to go
/// on; the mock console is a documented command that `ingest` and `sync` can be tried against.
@Suite struct DemoCommandTests {
    /// The README's first command, run twice on one file: the mock's port changes, the demo's
    /// console does not (the second run is no pile of conflicts).
    @Test func theDemoRunTwiceIntoOneDatabaseRefreshesItsThreats() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("demo.sqlite")
        for _ in 0..<2 {
            let result = try await runBinary(["demo", "--db", db, "--threats", "100", "--concurrency", "4", "--json", "--quiet"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("\"conflicts\":0"), "\(result.stdout)")
            #expect(!result.stderr.contains("conflict"), "\(result.stderr)")
        }
        let database = try StoreOpener.openForReading(path: db)
        #expect(try database.query("SELECT console, count(*) FROM threats GROUP BY 1").map { "\($0[0].textValue!) \($0[1].integerValue!)" } == ["default 100"])
        #expect(try database.scalar("SELECT count(*) FROM consoles").integerValue == 1)
        #expect(try database.scalar("SELECT count(DISTINCT console_url) FROM ingest_runs").integerValue == 2)
    }

    @Test func demoDataIsRecentPartlyResolvedAndTheOutputShowsTheWayOn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("demo.sqlite")
        let started = Int(time(nil))
        let result = try await runBinary(["demo", "--db", db, "--threats", "300", "--concurrency", "4"])
        #expect(result.status == 0, "\(result.stderr)")

        // It shows where the binary is and the commands to go on with.
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("this binary: ") })
        let shown = String(try #require(line.split(separator: "this binary: ").last).prefix { $0 != ")" })
        let shownPath = shown.hasPrefix("/") ? shown : FileManager.default.currentDirectoryPath + "/" + shown
        #expect(shown == "s1ingest"
                || URL(fileURLWithPath: shownPath).resolvingSymlinksInPath().path == BinaryRunner.executable.resolvingSymlinksInPath().path,
                "\(shown)")
        for command in ["report --db \(db) --since 7d", "report --db \(db) --html report.html", "query --db \(db) ",
                        "schema --datasette --db \(db)", "mock-console --threats"] {
            #expect(result.stdout.contains("\(shown) \(command)"), "\(command)")
        }

        // Threats of the last 30 days, some in the last 7 (sync's default window, report --since 7d).
        let database = try Database(path: db, mode: .readOnly)
        func count(_ sql: String) throws -> Int64 { try database.scalar(sql).integerValue ?? -1 }
        let lastWeek = formatTimestamp(secondsSince1970: Double(started - 7 * 86_400))
        let lastMonth = formatTimestamp(secondsSince1970: Double(started - 30 * 86_400 - 60))
        let now = formatTimestamp(secondsSince1970: Double(Int(time(nil)) + 1))
        #expect(try count("SELECT count(*) FROM threats") == 300)
        #expect(try count("SELECT count(*) FROM threats WHERE created_at < '\(lastMonth)' OR created_at > '\(now)'") == 0)
        #expect(try count("SELECT count(*) FROM threats WHERE created_at >= '\(lastWeek)'") >= 30)
        #expect(try count("SELECT count(DISTINCT substr(created_at, 1, 10)) FROM threats") >= 28)
        // A share resolved, as on a console; the rest open.
        let resolved = try count("SELECT count(*) FROM threats WHERE incident_status = 'resolved'")
        #expect(resolved >= 60 && resolved <= 200, "\(resolved) resolved")
        #expect(try count("SELECT count(*) FROM threats WHERE incident_status = 'unresolved'") > 0)
        // Clean file paths: one kind of separator each.
        #expect(try count("SELECT count(*) FROM threats WHERE file_path LIKE '%/%' AND file_path LIKE '%\\%'") == 0)
        #expect(try count("SELECT count(*) FROM threats WHERE file_path LIKE '/%'") > 0)
    }

    @Test func mockConsoleIsDocumented() async throws {
        let help = try await runBinary(["--help"])
        #expect(help.stdout.contains("mock-console"), "\(help.stdout)")
        let own = try await runBinary(["mock-console", "--help"])
        #expect(own.status == 0)
        for text in ["--threats", "--token", "S1_CONSOLE_URL=http://127.0.0.1:8443", "s1ingest sync --db", "s1ingest ingest --ids"] {
            #expect(own.stdout.contains(text), "\(text)")
        }
    }

    /// `sync` with its default window and `ingest` work against `s1ingest mock-console`.
    @Test func syncAndIngestAgainstTheMockConsoleCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let console = try BackgroundRun.start(["mock-console", "--threats", "400", "--token", "trial"], environment: [:],
                                              directory: directory, name: "mock")
        defer { console.signal(SIGKILL); _ = console.process.waitUntilExitIfRunning() }
        #expect(await eventually(seconds: 30) { console.stdout.contains("\n") }, "\(console.stderr)")
        let url = console.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(url.hasPrefix("http://127.0.0.1:"))
        let env = ["S1_API_TOKEN": "trial"]
        let db = directory.path("trial.sqlite")

        let ids = directory.path("ids.txt")
        try "1311010474425970168\n1311010474425978087\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let ingest = try await runBinary(["ingest", "--console", url, "--ids", ids, "--db", db, "--json"], environment: env)
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let sync = try await runBinary(["sync", "--console", url, "--db", db, "--json"], environment: env)
        #expect(sync.status == 0, "\(sync.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(sync.stdout.utf8)) as? [String: Any])
        let listed = try #require(summary["listed"] as? Int)
        #expect(listed >= 40 && listed < 400, "the last 7 days of 30: \(listed)")
    }

    @Test func datasetteMetadataIsNamedAfterTheDatabase() async throws {
        let result = try await runBinary(["schema", "--datasette", "--db", "/tmp/some where/demo.sqlite"])
        #expect(result.status == 0, "\(result.stderr)")
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let databases = try #require(metadata["databases"] as? [String: Any])
        #expect(Array(databases.keys) == ["demo"])
    }
}
