import ArgumentParser
import Foundation
import S1IngestCore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the console and token before tonight: DNS, TCP, TLS, token, scope, clock, pace.",
        discussion: """
            One line per step, in order, with the cause in plain words when one fails (the later steps are then not tried): the host name (DNS), a TCP connection, TLS (the certificate chain verified as ingest and sync do, --ca-file honoured, days until the certificate expires), the token (one GET /web/api/v2.1/threats?limit=1), what it can see (total threats, accounts and sites of the first 100), the console's clock against ours (its Date header), and the pace learned for the console. Changes nothing.

            Exit status: 0 all good (warnings included), 2 unreachable or TLS failure, 3 the token was refused, 64 usage error.
            """
    )

    @OptionGroup var consoleOptions: ConsoleOptions
    @OptionGroup var database: DatabaseOption

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func run() async throws {
        // `--console NAME` with `--consoles FILE` checks that console with its token file.
        let console = try runReportingErrors { try consoleOptions.resolvedConsole() }
        let endpoint = console.endpoint
        let report = await ConsoleCheck.run(endpoint: endpoint, settings: consoleOptions.clientSettings(for: console),
                                            pace: learnedPace(for: endpoint))
        if json {
            print(JSONOutput.line(report, command: "check"))
        } else {
            print("check of \(report.console):")
            for step in report.steps {
                let outcome = step.outcome.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                print("  \(outcome) \(step.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(terminalSafe(step.detail))")
            }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// The pace learned for this console in the database, when there is one (read-only).
    func learnedPace(for endpoint: ConsoleEndpoint) -> String? {
        guard database.exists, let records = try? database.store.openForReading(),
              let budget = records.learnedPace(console: endpoint.baseURL) else { return nil }
        return String(format: "%.1f requests/s learned in %@; the next run starts just under it", budget, database.path)
    }
}
