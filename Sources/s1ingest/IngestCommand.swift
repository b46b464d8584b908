import ArgumentParser
import Foundation
import S1IngestCore

/// Console connection options shared by `ingest` (and later `sync`).
struct ConsoleOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The console's base URL (default: $S1_CONSOLE_URL), or its NAME in the consoles file.", valueName: "url|name"))
    var console: String?

    @Option(name: .customLong("consoles"), help: ArgumentHelp("The consoles file (TOML: [consoles.NAME] with url, token_file, optional sites, concurrency, rate; default: $S1INGEST_CONSOLES). README \"Several consoles\".", valueName: "file"))
    var consolesFile: String?

    @Option(help: ArgumentHelp("A file holding only the API token (default: $S1_API_TOKEN). The token is never an option value: it would show in `ps`.", valueName: "file"))
    var tokenFile: String?

    @Flag(help: "Allow plain http to a host that is not loopback.")
    var allowInsecureHttp = false

    @Option(help: ArgumentHelp("A PEM file with a private CA to trust besides the system's.", valueName: "file"))
    var caFile: String?

    @Option(help: "Most requests in flight at once.")
    var concurrency = 8

    @Option(name: .customLong("rate"), help: ArgumentHelp("A cap on requests per second across all workers.", valueName: "req_per_s"))
    var rate: Double?

    @Option(help: "Attempts per threat ID before giving up (429, 5xx, connection errors and timeouts are retried).")
    var maxAttempts = 5

    @Option(help: "Seconds to wait for a connection.")
    var connectTimeout = 10.0

    @Option(help: "Seconds of silence allowed while reading a response.")
    var readTimeout = 30.0

    @Option(help: "Seconds allowed for one whole request: connection, headers and the whole body.")
    var requestTimeout = 60.0

    @Option(help: "Seconds that requests in flight may go on after SIGINT/SIGTERM before they are cancelled (their IDs stay queued).")
    var stopGrace = 5.0

    @Option(help: "Largest response body accepted, in MiB.")
    var maxResponseMb = 32

    @Option(help: .hidden)
    var retryBaseMs = 500

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be between 1 and 256") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard connectTimeout > 0, readTimeout > 0, requestTimeout > 0 else { throw ValidationError("timeouts must be positive") }
        guard stopGrace >= 0, stopGrace <= 60 else { throw ValidationError("--stop-grace must be from 0 to 60 seconds") }
        guard maxResponseMb >= 1 else { throw ValidationError("--max-response-mb must be at least 1") }
    }

    /// The endpoint, from options and environment, checked.
    func endpoint() throws -> ConsoleEndpoint {
        guard let url = console ?? Environment.value("S1_CONSOLE_URL") else {
            throw ValidationError("no console: pass --console URL or set S1_CONSOLE_URL")
        }
        return try ConsoleEndpoint(url: url, token: try token(), allowInsecureHTTP: allowInsecureHttp)
    }

    func token() throws -> String {
        if let tokenFile {
            do {
                return try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw ConsoleConfigurationError.unreadableTokenFile(path: tokenFile, reason: (error as NSError).localizedDescription)
            }
        }
        guard let token = Environment.value("S1_API_TOKEN") else { throw ConsoleConfigurationError.missingToken }
        return token
    }

    var clientSettings: ConsoleClientSettings {
        ConsoleClientSettings(concurrency: concurrency, connectTimeout: .milliseconds(Int64(connectTimeout * 1000)),
                              readTimeout: .milliseconds(Int64(readTimeout * 1000)),
                              requestDeadline: .milliseconds(Int64(requestTimeout * 1000)),
                              maxResponseBytes: maxResponseMb << 20, caFile: caFile)
    }

    var stopGraceDuration: Duration { .milliseconds(Int64(stopGrace * 1000)) }

    var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(retryBaseMs))
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Fetch threat analyses from the console and store them.",
        discussion: """
            IDs come from a file (--ids FILE, '-' for stdin: one per line, '#' comments) or the durable queue (--queue: pending IDs and retryable failures). Every ID is enqueued before fetching and marked done in the transaction that stores its analysis, so a killed run resumes with `s1ingest ingest --queue`. SIGINT/SIGTERM stop taking IDs, finish what is in flight and print the summary.

            Exit status: 0 all stored, 1 partial, 2 failure, 3 authentication, 4 another run is writing to the database, 130 interrupted, 64 usage error.
            """
    )

    @OptionGroup var database: DatabaseOption
    @OptionGroup var consoleOptions: ConsoleOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var metrics: MetricsOption

    @Option(help: ArgumentHelp("A file of threat IDs, one per line ('-' for stdin).", valueName: "file"))
    var ids: String?

    @Flag(help: "Work through the queue: pending IDs and retryable failures.")
    var queue = false

    func validate() throws {
        guard (ids != nil) != queue else { throw ValidationError("give exactly one of --ids FILE, --ids - or --queue") }
    }

    func run() async throws {
        let console = try runReportingErrors { try consoleOptions.resolvedConsole() }
        var options = IngestOptions(
            databasePath: database.path, endpoint: console.endpoint, source: ids.map { .idFile($0) } ?? .queue,
            client: consoleOptions.clientSettings(for: console), retry: consoleOptions.retryPolicy,
            maxRequestsPerSecond: consoleOptions.rate ?? console.rate)
        options.stopGrace = consoleOptions.stopGraceDuration
        options.consoleName = console.name
        try await IngestRunner.run(options, output: output, metrics: metrics)
    }
}

/// `--quiet`, `--json` and `--log-format`, shared by commands that print a summary.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress and no warnings; the summary only.")
    var quiet = false

    @Flag(help: "Print the summary as one JSON object on standard output (for schedulers).")
    var json = false

    @Option(help: ArgumentHelp("Progress and warnings on stderr as one event per line: text or json (default: text lines when stderr is not a terminal).", valueName: "format"))
    var logFormat: LogFormat?
}

/// Runs an ingest with signals, progress and the summary, and exits with the right code.
enum IngestRunner {
    static func run(_ options: IngestOptions, output: OutputOptions, metrics: MetricsOption = .none) async throws {
        let log = RunLog(output: output)
        let ingester = Ingester(options: options)
        ingester.onWarning = { log.warn($0) }
        ingester.onProgress = { log.progress($0) }
        let stop = StopRequest()
        let signals = SignalTrap(stop: stop, grace: options.stopGrace)
        let summary = try await log.reportingErrors {
            try await metrics.measuring(command: options.command, console: options.endpoint.baseURL, databasePath: options.databasePath) {
                try await ingester.run(stop: stop)
            } metrics: { summary, started, duration in
                RunMetrics(command: options.command, console: options.endpoint.baseURL, startedAt: started, durationSeconds: duration,
                           status: summary.status, counts: RunMetrics.counts(summary.counts, pacing: summary.pacing))
            }
        }
        signals.release()
        log.clearProgress()
        if output.json {
            print(IngestSummaryFormatter.json(summary, databasePath: options.databasePath))
        } else {
            print(IngestSummaryFormatter.text(summary, databasePath: options.databasePath))
        }
        if let message = summary.message, summary.status == .failed { log.error(message) }
        try exit(for: summary.status, authenticationFailed: summary.authenticationFailed)
    }

    /// Throws the exit code a run's status calls for (nothing for ok).
    static func exit(for status: RunStatus, authenticationFailed: Bool) throws {
        switch status {
        case .ok, .running: return
        case .partial: throw ExitCode(S1IngestExitCode.partial)
        case .failed: throw ExitCode(authenticationFailed ? S1IngestExitCode.authentication : S1IngestExitCode.failure)
        case .aborted: throw ExitCode(S1IngestExitCode.interrupted)
        }
    }
}
