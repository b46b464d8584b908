import ArgumentParser
import Foundation
import S1IngestCore
import S1MockConsole

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the real ingest against a built-in mock console (no credentials needed).",
        discussion: """
            Starts the mock console (see `s1ingest mock-console --help`) on a loopback port with threats \
            of the last 30 days, fetches every one of them over HTTP with the real ingest, fills --db, \
            then prints queries to try and the commands to go on with.
            """
    )

    @Option(help: ArgumentHelp("The database to fill.", valueName: "path"))
    var db = "demo.sqlite"

    @Option(help: "How many threats the mock console serves.")
    var threats = 1000

    @Option(help: "Most requests in flight at once.")
    var concurrency = 8

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard threats >= 1 && threats <= 1_000_000 else { throw ValidationError("--threats must be between 1 and 1000000") }
    }

    func run() async throws {
        let token = "demo-token-\(UInt64.random(in: 1...UInt64.max))"
        let set = SyntheticAnalyses(count: threats, seed: 2026, referenceTime: Int(time(nil)))
        let mock = try await runReportingErrors {
            try await MockConsole.start(MockConsoleConfiguration(analyses: set, token: token))
        }
        if !output.quiet && !output.json {
            print("mock console listening on \(mock.baseURL), serving \(threats) threats")
        }
        let endpoint = try ConsoleEndpoint(url: mock.baseURL, token: token)
        var options = IngestOptions(databasePath: db, endpoint: endpoint,
                                    source: .ids((0..<threats).map(set.threatId), label: "demo"),
                                    client: ConsoleClientSettings(concurrency: concurrency), command: "demo")
        // The mock listens on a new port every time: the demo's threats stay one console
        // (`default`), so running the demo again refreshes them instead of conflicting.
        options.consoleURLIsStable = false
        do {
            try await IngestRunner.run(options, output: output)
        } catch {
            try? await mock.shutdown()
            throw error
        }
        try? await mock.shutdown()
        if !output.quiet && !output.json {
            print(Self.nextSteps(binary: DemoCommand.binaryForDisplay(), db: db))
        }
    }

    /// What the demo prints last: queries to try, then how to go on with s1ingest itself.
    static func nextSteps(binary: String, db: String) -> String {
        let dbArgument = shellQuoted(db)
        return """

            Try it:
              sqlite3 -header -column \(dbArgument) "SELECT classification, count(*) AS threats, sum(incident_status = 'resolved') AS resolved FROM threats GROUP BY 1 ORDER BY 2 DESC"
              sqlite3 -header -column \(dbArgument) "SELECT a.agent_computer_name, count(*) AS threats, sum(t.incident_status = 'unresolved') AS unresolved FROM threats t JOIN agents a USING (agent_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
              sqlite3 -header -column \(dbArgument) "SELECT tactic, name AS technique, count(DISTINCT threat_id) AS threats FROM indicator_techniques GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"

            Go on with s1ingest itself (this binary: \(binary)):
              \(binary) report --db \(dbArgument) --since 7d  # the canned reports of the last week
              \(binary) report --db \(dbArgument) --html report.html  # one page with charts; open it in a browser
              \(binary) query --db \(dbArgument) "SELECT * FROM threat_overview WHERE is_resolved = 0 LIMIT 10"
              \(binary) schema --datasette --db \(dbArgument) > metadata.json && datasette \(dbArgument) -m metadata.json
              \(binary) mock-console --threats 1000 --token demo  # a console to try ingest and sync against (--help)
            """
    }

    /// The path of the running binary, as short as it can be written: `s1ingest` when that is
    /// what the shell finds on PATH, relative to the current directory when under it.
    static func binaryForDisplay() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "s1ingest" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let onPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains { directory in
            URL(fileURLWithPath: String(directory)).appendingPathComponent("s1ingest").resolvingSymlinksInPath().path == path
        }
        if onPath { return "s1ingest" }
        let current = FileManager.default.currentDirectoryPath
        if current != "/", path.hasPrefix(current + "/") { return shellQuoted(String(path.dropFirst(current.count + 1))) }
        return shellQuoted(path)
    }

    /// `text` as one shell word: as it is when it holds only safe characters, else in single quotes.
    static func shellQuoted(_ text: String) -> String {
        let safe = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:,@%".contains($0)) }
        return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

struct MockConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-console",
        abstract: "Serve a mock SentinelOne console on loopback until stopped, to try ingest and sync without a tenant.",
        discussion: """
            It answers the two endpoints s1ingest uses, GET /web/api/v2.1/threats (the paged threat list \
            sync walks) and GET /web/api/v2.1/private/threats/ID/analysis, with --threats synthetic threats \
            of the last 30 days (the same seed gives the same threats; IDs are \(SyntheticAnalyses.firstThreatId), \
            then every 7919th number). It prints its URL on the first line, then serves until Ctrl-C.

            In one terminal:
              s1ingest mock-console --port 8443 --token demo
            In another:
              export S1_CONSOLE_URL=http://127.0.0.1:8443 S1_API_TOKEN=demo
              printf '%s\\n' 1311010474425970168 1311010474425978087 > ids.txt
              s1ingest ingest --ids ids.txt --db trial.sqlite
              s1ingest sync --db trial.sqlite              # the last 7 days
              s1ingest sync --db trial.sqlite --since 30d  # further back
            """
    )

    @Option(help: "Port on 127.0.0.1 (0 = any free one, printed on start).")
    var port = 0

    @Option(help: "How many threats it serves.")
    var threats = 1000

    @Option(help: "Milliseconds added to every response.")
    var latencyMs = 0

    @Option(help: "Event-loop threads.")
    var threads = 1

    @Option(help: "The token requests must carry as S1_API_TOKEN (default: none required).")
    var token: String?

    @Option(help: "Seed of the synthetic analyses.")
    var seed: UInt64 = 2026

    @Option(help: ArgumentHelp("Where its threat and agent IDs start, in steps (0: 1311010474425970168; N: that plus N × 7919). Mock consoles whose ranges do not overlap share no threat or agent, as two real consoles.", valueName: "n"))
    var idBase = 0

    @Option(help: ArgumentHelp("A request budget: a token bucket refilled at this many requests per second (429 when empty).",
                               valueName: "req_per_s"))
    var rateLimit: Double?

    @Option(help: "The rate limit's bucket size (requests at once after a quiet spell).")
    var burst: Double = 5

    @Option(help: "Retry-After seconds on 429s (rate limit and random ones); 0 for no header.")
    var retryAfter = 1

    @Option(name: .customLong("random-429"),
            help: ArgumentHelp("Answer this share of analysis requests 429 at random, whatever the rate (0-1).", valueName: "share"))
    var random429: Double = 0

    @Option(help: ArgumentHelp("Write when each request reached the rate limit to this file (nanoseconds since start, one per line), with or without --rate-limit.",
                               valueName: "file"))
    var recordArrivals: String?

    func validate() throws {
        if let rateLimit, !(rateLimit > 0) { throw ValidationError("--rate-limit must be positive") }
        guard burst >= 1 else { throw ValidationError("--burst must be at least 1") }
        guard retryAfter >= 0 else { throw ValidationError("--retry-after must be 0 or more") }
        guard (0...1).contains(random429) else { throw ValidationError("--random-429 must be between 0 and 1") }
        guard (0...1_000_000_000).contains(idBase) else { throw ValidationError("--id-base must be from 0 to 1000000000") }
    }

    func run() async throws {
        let header: RetryAfterValue? = retryAfter > 0 ? .seconds(retryAfter) : nil
        var faults = FaultPlan(latencyMilliseconds: latencyMs)
        faults.rateLimit = rateLimit.map { TokenBucketLimit(rate: $0, burst: burst, retryAfter: header) }
        if random429 > 0 { faults.randomFaults = [(.tooManyRequests(retryAfter: header), random429)] }
        let set = SyntheticAnalyses(count: threats, seed: seed, referenceTime: Int(time(nil)), idBase: idBase)
        var configuration = MockConsoleConfiguration(analyses: set, token: token, faults: faults)
        configuration.port = port
        configuration.threads = threads
        configuration.arrivalsFile = recordArrivals
        let mock = try await MockConsole.start(configuration)
        // Unbuffered, so a script reading the URL from a pipe or file sees it at once.
        FileHandle.standardOutput.write(Data((mock.baseURL + "\n").utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
