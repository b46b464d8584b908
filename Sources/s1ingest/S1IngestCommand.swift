import ArgumentParser
import Foundation
import S1IngestCore

@main
struct S1IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s1ingest",
        abstract: "Flatten SentinelOne threat analyses into a SQLite database you can query.",
        discussion: """
            Exit codes: 0 everything stored; 1 partial (some documents or IDs skipped or failed); 2 failure (the database or the run could not proceed); 3 the console refused the token (401/403); 4 another s1ingest run is writing to the same database (nothing was done; try again later); 130 interrupted (SIGINT/SIGTERM); 64 usage error.
            """,
        version: S1IngestVersion.current,
        subcommands: [DemoCommand.self, IngestCommand.self, EnqueueCommand.self, QueueCommand.self, RunsCommand.self,
                      ImportCommand.self, MigrateCommand.self, SchemaCommand.self, GenerateCommand.self, MockConsoleCommand.self,
                      CheckCommand.self]
            + MaintenanceCommands.all
            + ReportingCommands.all
    )

    /// Parses and runs the command as argument-parser does, except that a usage error reads
    /// like every other error, `s1ingest: error: ...` (then the usage), and exits 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Self.exitCode(for: error)
            // Help, --version, completion scripts and ExitCode(n) go the usual way.
            guard code != .success, !(error is ExitCode) else { Self.exit(withError: error) }
            var message = Self.fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = "s1ingest: error: " + message.dropFirst("Error: ".count) }
            FileHandleOutput.standardError(message.hasSuffix("\n") ? message : message + "\n")
            Self.exit(withError: ExitCode(code.rawValue))
        }
    }
}

/// `--db`, shared by every command that opens a database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite database file, or a postgresql:// URL (default: $S1INGEST_DB, else threats.sqlite).", valueName: "path"))
    var db: String?

    var path: String { db ?? Environment.value("S1INGEST_DB") ?? "threats.sqlite" }

    /// The store `path` names, opened by its backend.
    var store: any StoreProvider { StoreBackends.provider(for: path) }

    /// False when `path` is a file that is not there (a PostgreSQL URL is checked on connecting).
    var exists: Bool { PostgresLocation.isPostgresURL(path) || FileManager.default.fileExists(atPath: path) }
}
