import ArgumentParser
import Foundation
import S1IngestCore
import S1MockConsole

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the real ingest against a built-in mock console (no credentials needed)."
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
        let set = SyntheticAnalyses(count: threats, seed: 2026)
        let mock = try await runReportingErrors {
            try await MockConsole.start(MockConsoleConfiguration(analyses: set, token: token))
        }
        if !output.quiet && !output.json {
            print("mock console listening on \(mock.baseURL), serving \(threats) threats")
        }
        let endpoint = try ConsoleEndpoint(url: mock.baseURL, token: token)
        let options = IngestOptions(databasePath: db, endpoint: endpoint,
                                    source: .ids((0..<threats).map(set.threatId), label: "demo"),
                                    client: ConsoleClientSettings(concurrency: concurrency), command: "demo")
        do {
            try await IngestRunner.run(options, output: output)
        } catch {
            try? await mock.shutdown()
            throw error
        }
        try? await mock.shutdown()
        if !output.quiet && !output.json {
            print("""

                Try it:
                  sqlite3 -header -column \(db) "SELECT classification, count(*) AS threats FROM threats GROUP BY 1 ORDER BY 2 DESC"
                  sqlite3 -header -column \(db) "SELECT a.agent_computer_name, count(*) AS threats, sum(t.incident_status = 'unresolved') AS unresolved FROM threats t JOIN agents a USING (agent_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
                  sqlite3 -header -column \(db) "SELECT tactic, name AS technique, count(DISTINCT threat_id) AS threats FROM indicator_techniques GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"
                """)
        }
    }
}

struct MockConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-console",
        abstract: "Serve the mock SentinelOne console until stopped (for benchmarks and trials).",
        shouldDisplay: false
    )

    @Option(help: "Port on 127.0.0.1 (0 = any free one).")
    var port = 0

    @Option(help: "How many threats it serves.")
    var threats = 1000

    @Option(help: "Milliseconds added to every response.")
    var latencyMs = 0

    @Option(help: "Event-loop threads.")
    var threads = 1

    @Option(help: "Required token (default: none required).")
    var token: String?

    @Option(help: "Seed of the synthetic analyses.")
    var seed: UInt64 = 2026

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

    func validate() throws {
        if let rateLimit, !(rateLimit > 0) { throw ValidationError("--rate-limit must be positive") }
        guard burst >= 1 else { throw ValidationError("--burst must be at least 1") }
        guard retryAfter >= 0 else { throw ValidationError("--retry-after must be 0 or more") }
        guard (0...1).contains(random429) else { throw ValidationError("--random-429 must be between 0 and 1") }
    }

    func run() async throws {
        let header: RetryAfterValue? = retryAfter > 0 ? .seconds(retryAfter) : nil
        var faults = FaultPlan(latencyMilliseconds: latencyMs)
        faults.rateLimit = rateLimit.map { TokenBucketLimit(rate: $0, burst: burst, retryAfter: header) }
        if random429 > 0 { faults.randomFaults = [(.tooManyRequests(retryAfter: header), random429)] }
        var configuration = MockConsoleConfiguration(analyses: SyntheticAnalyses(count: threats, seed: seed), token: token,
                                                     faults: faults)
        configuration.port = port
        configuration.threads = threads
        let mock = try await MockConsole.start(configuration)
        // Unbuffered, so a script reading the URL from a pipe or file sees it at once.
        FileHandle.standardOutput.write(Data((mock.baseURL + "\n").utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
