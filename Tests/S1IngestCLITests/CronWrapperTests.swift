import Foundation
import S1Testing
import Testing

/// `contrib/cron/s1ingest-sync.sh`, run by `/bin/sh` with a fake s1ingest (`S1INGEST_BIN`).
@Suite struct CronWrapperTests {
    static let wrapper = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("contrib/cron/s1ingest-sync.sh").path
    static let token = "cron-secret-token-77e1"

    /// Records what it was started with (not the token), prints a summary and an event.
    static let fake = """
        #!/bin/sh
        { echo "args: $*"; echo "console: $S1_CONSOLE_URL"; [ -n "${S1_API_TOKEN:-}" ] && echo "token: set"; } >"$FAKE_RECORD"
        echo '{"status":"ok"}'
        echo '{"level":"info","message":"event"}' >&2
        exit "${FAKE_EXIT:-0}"
        """

    struct Run {
        let status: Int32
        let stderr: String
    }

    func run(in directory: URL, _ environment: [String: String]) throws -> Run {
        let result = try ChildProcess.run("/bin/sh", [Self.wrapper], environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path].merging(environment) { $1 },
                                          currentDirectory: directory.path)
        return Run(status: result.status, stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    func setUp(_ directory: TemporaryDirectory, envFile: String) throws -> [String: String] {
        // Written here, then copied by `cp`: a process another test forks at that moment
        // inherits only the first file's descriptor, so running the copy never meets
        // "Text file busy" (exit 126).
        let source = directory.path("fake-s1ingest.txt"), fake = directory.path("fake-s1ingest")
        try Self.fake.write(toFile: source, atomically: false, encoding: .utf8)
        _ = try runProcess("/bin/cp", [source, fake])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let env = directory.url.appendingPathComponent(envFile)
        try FileManager.default.createDirectory(at: env.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "S1_CONSOLE_URL=https://console.example\nS1_API_TOKEN=\(Self.token)\nS1INGEST_DB=/nonexistent/t.sqlite\n"
            .write(to: env, atomically: true, encoding: .utf8)
        return ["S1INGEST_BIN": fake, "FAKE_RECORD": directory.path("record"), "S1INGEST_LOG_DIR": "logs"]
    }

    @Test(arguments: ["s1ingest.env", "conf/s1ingest.env", "./s1ingest.env"])
    func relativeEnvironmentFileIsFoundFromTheStartingDirectory(envFile: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        var environment = try setUp(directory, envFile: envFile)
        environment["S1INGEST_ENV"] = envFile
        let result = try run(in: directory.url, environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let record = (try? String(contentsOfFile: directory.path("record"), encoding: .utf8)) ?? ""
        #expect(record == "args: sync --json --log-format json\nconsole: https://console.example\ntoken: set\n")
        let summary = try String(contentsOfFile: directory.path("logs/sync.summary.json"), encoding: .utf8)
        #expect(summary == "{\"status\":\"ok\"}\n")
        let events = try String(contentsOfFile: directory.path("logs/sync.log"), encoding: .utf8)
        #expect(events == "{\"level\":\"info\",\"message\":\"event\"}\n")
    }

    @Test func failuresAreReportedWithTheExitCode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        var environment = try setUp(directory, envFile: "s1ingest.env")
        environment["S1INGEST_ENV"] = "s1ingest.env"
        environment["FAKE_EXIT"] = "3"
        let failed = try run(in: directory.url, environment)
        #expect(failed.status == 3)
        #expect(failed.stderr.contains("exit code 3"), "\(failed.stderr)")
        environment["FAKE_EXIT"] = "1"
        let partial = try run(in: directory.url, environment)
        #expect(partial.status == 1)
        #expect(partial.stderr.isEmpty, "\(partial.stderr)")

        environment["S1INGEST_ENV"] = "missing.env"
        let missing = try run(in: directory.url, environment)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains(directory.path("missing.env")), "\(missing.stderr)")
        #expect(!failed.stderr.contains(Self.token) && !missing.stderr.contains(Self.token))
    }
}
