import ArgumentParser
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
                      ImportCommand.self, MigrateCommand.self, SchemaCommand.self, GenerateCommand.self, MockConsoleCommand.self]
            + MaintenanceCommands.all
            + ReportingCommands.all
    )
}

/// `--db`, shared by every command that opens a database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite database file (default: $S1INGEST_DB, else threats.sqlite).", valueName: "path"))
    var db: String?

    var path: String { db ?? Environment.value("S1INGEST_DB") ?? "threats.sqlite" }
}
